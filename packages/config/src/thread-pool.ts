// libuv's thread pool in a worker that loads exports, shared by the config check and the launcher.

/**
 * The thread pool for a worker running `concurrency` loads at once: each load's DuckDB query holds
 * a pool thread for as long as it runs, and file, zlib and DNS work queue on the same pool (with
 * four loads filling Node's default four threads, a 1 KB readFile waited 10 s for one to end).
 * Node reads `UV_THREADPOOL_SIZE` once, when the process starts: it cannot be raised from inside.
 */
export function threadPoolSizeFor(concurrency: number): number {
  return concurrency + 4;
}
