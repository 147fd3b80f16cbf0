import { isOutOfMemory, type LoadResult, SinkError, whyRefused } from './sink.js';
import { type DuckDbLoadOptions, duckdbLoadSettings } from './sql.js';

/**
 * Runs `load` with the sink's DuckDB settings and, if DuckDB ran out of its memory limit, once
 * more on one thread, saying why in `oneThreadBecause`. DuckDB reads and parses 2,048 rows at a
 * time per thread, so a file of wide rows needs memory per thread that no file size predicts:
 * rows of 64 KB outgrew 256MB on two threads and loaded on one. Out of memory on one thread
 * too, the load fails with `sink.out_of_memory`, which names the limit to raise; the careful
 * path, which takes more memory, is not tried.
 */
export async function withOneThreadRetry(
  options: DuckDbLoadOptions,
  load: (options: DuckDbLoadOptions) => Promise<LoadResult>,
): Promise<LoadResult> {
  try {
    return await load(options);
  } catch (error) {
    if (!isOutOfMemory(error)) throw error;
    if (Number(duckdbLoadSettings(options).threads) <= 1) throw outOfMemory(options, error);
    try {
      return { ...(await load({ ...options, threads: 1 })), oneThreadBecause: whyRefused(error) };
    } catch (again) {
      throw isOutOfMemory(again) ? outOfMemory(options, again) : again;
    }
  }
}

function outOfMemory(options: DuckDbLoadOptions, cause: unknown): SinkError {
  const limit = duckdbLoadSettings(options).memory_limit;
  return new SinkError(
    'sink.out_of_memory',
    `DuckDB needed more than its ${limit} memory limit for this export's rows, even on one thread: raise DUCKDB_MEMORY_LIMIT and run the export again (${whyRefused(cause)})`,
    { cause },
  );
}
