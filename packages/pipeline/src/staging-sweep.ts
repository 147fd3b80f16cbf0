import type { Logger } from '@fsx/logger';
import { ExportStore } from './export-store.js';
import type { StagingStore } from './staging.js';

/** How often the download and ingest workers look for staged files of ended exports. */
export const STAGING_SWEEP_MS = 10 * 60_000;

/**
 * Sweeps staging now and every `everyMs` (see StagingStore.sweep): the files of exports whose
 * record has ended. Every download and ingest process runs one; they remove files with `force`,
 * so two sweeping at once do no harm. Returns what stops it.
 */
export function sweepStagingEvery(
  staging: StagingStore,
  store: ExportStore,
  logger: Logger,
  everyMs = STAGING_SWEEP_MS,
): () => void {
  const hasEnded = async (exportId: string) => {
    const record = await store.get(exportId);
    return record !== undefined && ExportStore.isTerminal(record);
  };
  const sweep = async () => {
    try {
      const swept = await staging.sweep(hasEnded);
      if (swept.length > 0)
        logger.info(
          { exports: swept.length, exportIds: swept.slice(0, 20) },
          'removed staged files of ended exports',
        );
    } catch (error) {
      logger.warn({ err: error }, 'staging sweep failed; the next one will try again');
    }
  };
  void sweep();
  const timer = setInterval(() => void sweep(), everyMs);
  timer.unref();
  return () => clearInterval(timer);
}
