import {
  type FsxConfig,
  loadConfig,
  loadOrExit,
  secretValues,
  threadPoolSizeFor,
} from '@fsx/config';
import { createLogger, everySoOften, type Logger } from '@fsx/logger';
import type { Worker } from 'bullmq';

const SHUTDOWN_GRACE_MS = 25_000;

/** A worker app's start: config read and validated once (or exit 1 with why), and its logger. */
export function bootWorkerApp(
  name: string,
  env: Record<string, string | undefined>,
): { config: FsxConfig; logger: Logger } {
  const config = loadOrExit(() => loadConfig(env));
  const logger = createLogger({
    name,
    level: config.logLevel,
    pretty: config.prettyLogs,
    secrets: secretValues(config),
  });
  return { config, logger };
}

/**
 * Why this worker's libuv thread pool is too small, if it is: an ingest worker's loads each hold a
 * pool thread while DuckDB runs, so a pool no larger than its concurrency leaves none for the
 * files, gzip and DNS lookups the loads and the worker need meanwhile.
 */
export function threadPoolShortfall(
  stage: string,
  workers: FsxConfig['workers'],
): { message: string; recommended: number } | undefined {
  if (stage !== 'ingest' || workers.threadPoolSize > workers.concurrency) return undefined;
  const recommended = threadPoolSizeFor(workers.concurrency);
  return {
    recommended,
    message: `UV_THREADPOOL_SIZE=${workers.threadPoolSize} leaves no libuv thread beside ${workers.concurrency} loads (WORKER_CONCURRENCY): file and DNS work waits for a load to end. Start the process with UV_THREADPOOL_SIZE=${recommended}.`,
  };
}

/**
 * The rest of a worker app's life: log its workers' errors, say it is ready once they are, and on
 * SIGTERM/SIGINT let in-flight jobs finish, then `release` its connections and exit. Past the
 * grace period it exits anyway: jobs still running are picked up again as stalled, which every
 * processor is written to survive.
 */
export async function serveUntilSignal(
  name: string,
  logger: Logger,
  workers: Worker[],
  release: () => Promise<void>,
  readyDetails: Record<string, unknown> = {},
): Promise<void> {
  const workerError = everySoOften(logger, 'error');
  for (const worker of workers)
    worker.on('error', (error) => workerError({ err: error, queue: worker.name }, 'worker error'));
  await Promise.all(workers.map((worker) => worker.waitUntilReady()));
  logger.info(readyDetails, `${name} ready`);
  // Whatever LOG_LEVEL says, supervisors (pnpm start, the tests) wait for this line.
  process.stdout.write(`${name} ready\n`);
  let stopping = false;
  const stop = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    logger.info({ signal }, 'shutting down');
    const forced = setTimeout(() => {
      logger.warn('grace period over; in-flight jobs will be retried as stalled');
      process.exit(0);
    }, SHUTDOWN_GRACE_MS);
    forced.unref();
    await Promise.all(workers.map((worker) => worker.close()));
    await release();
    process.exit(0);
  };
  process.once('SIGTERM', () => void stop('SIGTERM'));
  process.once('SIGINT', () => void stop('SIGINT'));
}
