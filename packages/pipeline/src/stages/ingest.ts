import { access } from 'node:fs/promises';
import { isSinkError, type LoadResult } from '@fsx/sinks';
import { describeError, WaitSignal } from '../errors.js';
import { ExportStore } from '../export-store.js';
import type { StageHandler } from '../stage-runner.js';

/**
 * How soon an ingest that found the sink busy (after DUCKDB_LOCK_WAIT_MS or POSTGRES_LOCK_TIMEOUT_MS)
 * tries again.
 */
const SINK_BUSY_RETRY_MS = 10_000;

/** The slower ways a load can take, and what the log says when it took one (with the reason). */
const SLOWER_WAYS: [keyof LoadResult & `${string}Because`, 'info' | 'warn', string][] = [
  [
    'plainBecause',
    'info',
    'the one-pass load missed; loaded after a pass over the whole file for its fields',
  ],
  [
    'oneThreadBecause',
    'warn',
    'DuckDB ran out of memory on its threads (wide rows); loaded on one thread instead',
  ],
  [
    'wideRowsBecause',
    'warn',
    'the files write ran out of memory (wide rows); wrote in smaller batches instead',
  ],
  [
    'asLinesBecause',
    'warn',
    'DuckDB ran out of memory on the JSON array even on one thread (wide rows); read it as lines instead',
  ],
  ['carefulBecause', 'warn', 'the fast load was refused; loaded line by line instead'],
];

/** Loads the staged file into the export's sink (replacing any earlier load), then cleans up. */
export const ingestStage: StageHandler = async (run) => {
  const { record, deps } = run;
  const file = record.stagedFile ?? deps.staging.pathFor(record.id, record.spec.format);
  const present = await access(file).then(
    () => true,
    () => false,
  );
  if (!present) {
    // Lost between stages (a wiped volume): download it again rather than fail.
    await run.handoff('download', {
      stagedFile: null,
      lastError: 'staged file missing; downloading again',
    });
    return;
  }
  const result = await deps
    .sink(record.sink)
    .load({
      exportId: record.id,
      kind: record.spec.type,
      format: record.spec.format,
      file,
      // Cancelled while loading: the load rolls back instead of landing rows nobody wants.
      stillWanted: async () => {
        const now = await deps.store.get(record.id);
        return now !== undefined && !ExportStore.isTerminal(now);
      },
    })
    .catch(async (error: unknown) => {
      if (isSinkError(error, 'sink.abandoned')) return undefined;
      if (!isSinkError(error, 'sink.busy')) throw error;
      // Another process has the sink open (someone querying the DuckDB file): wait for it as a
      // delayed job, without spending the job's attempts, and say what the export waits for.
      await run.save({ lastError: `ingest: waiting for the sink: ${describeError(error)}` });
      throw new WaitSignal(SINK_BUSY_RETRY_MS, 'sink busy');
    });
  if (!result) {
    deps.logger.info({ exportId: record.id }, 'export ended while loading; the load rolled back');
    await deps.staging.remove(file);
    return;
  }
  await run.job.updateProgress(100);
  for (const [field, level, message] of SLOWER_WAYS) {
    const reason = result[field];
    if (reason) deps.logger[level]({ exportId: record.id, reason }, message);
  }
  if (result.rejected > 0) {
    deps.logger.warn({ exportId: record.id, rejected: result.rejected }, 'rows quarantined');
  }
  await run.complete({
    rows: result.rows,
    rowsRejected: result.rejected,
    ...(result.rejected > 0
      ? {
          warning: `${result.rejected} row(s) could not be read and are in the ${record.sink} quarantine`,
        }
      : {}),
    ...(result.newColumns.length > 0 ? { newColumns: result.newColumns } : {}),
    ...(result.extraFields.length > 0 ? { extraFields: result.extraFields } : {}),
    stagedFile: null,
    download: null,
  });
  await deps.staging.remove(file);
};
