import type { Logger } from '@fsx/logger';
import { sweepAbandonedSpills } from '@fsx/sinks';
import { ExportStore } from './export-store.js';
import type { StagingStore } from './staging.js';

/** How often the download and ingest workers look for what ended exports and dead loads left. */
export const HOUSEKEEPING_MS = 10 * 60_000;

export interface HousekeepingDeps {
  staging: StagingStore;
  store: ExportStore;
  /** Where loads' DuckDB spills; swept only when given (the ingest worker, whose loads spill). */
  tempDir?: string;
}

/**
 * Sweeps, now and every `everyMs`, the staged files of exports whose record has ended (see
 * StagingStore.sweep) and, with `tempDir`, the spill folders of loads whose process died (see
 * sweepAbandonedSpills). Every download and ingest process runs it; they remove with `force`,
 * so two at once do no harm. Returns what stops it.
 */
export function startHousekeeping(
  deps: HousekeepingDeps,
  logger: Logger,
  everyMs = HOUSEKEEPING_MS,
): () => void {
  const hasEnded = async (exportId: string) => {
    const record = await deps.store.get(exportId);
    return record !== undefined && ExportStore.isTerminal(record);
  };
  // Each on its own: Redis down stops the staging sweep, not the spills' (which needs no Redis).
  const attempt = async (what: string, sweep: () => Promise<void>) => {
    try {
      await sweep();
    } catch (error) {
      logger.warn({ err: error }, `housekeeping: ${what} failed; the next round will try again`);
    }
  };
  const sweep = async () => {
    await attempt('the staging sweep', async () => {
      const exports = await deps.staging.sweep(hasEnded);
      if (exports.length > 0)
        logger.info(
          { exports: exports.length, exportIds: exports.slice(0, 20) },
          'removed staged files of ended exports',
        );
    });
    const { tempDir } = deps;
    if (tempDir)
      await attempt('the spill sweep', async () => {
        const spills = await sweepAbandonedSpills(tempDir);
        if (spills.length > 0)
          logger.info({ folders: spills }, 'removed DuckDB spill folders of loads that died');
      });
  };
  void sweep();
  const timer = setInterval(() => void sweep(), everyMs);
  timer.unref();
  return () => clearInterval(timer);
}
