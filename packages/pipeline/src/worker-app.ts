import { type FsxConfig, loadConfig, loadOrExit, secretValues } from '@fsx/config';
import { createLogger } from '@fsx/logger';
import type { Stage } from '@fsx/queues';
import { createPipelineRuntime } from './runtime.js';
import { createScheduleWorker, ScheduleStore } from './schedules.js';
import { createStageWorker } from './worker.js';

const SHUTDOWN_GRACE_MS = 25_000;

/**
 * The whole of a stage worker app: read config once, build the pipeline, run one stage's worker,
 * and on SIGTERM/SIGINT finish in-flight jobs (or, past the grace period, leave them to be
 * picked up again as stalled: every stage is idempotent).
 */
export async function runWorkerApp(
  stage: Stage,
  env: Record<string, string | undefined> = process.env,
) {
  const config: FsxConfig = loadOrExit(() => loadConfig(env));
  const logger = createLogger({
    name: `worker-${stage}`,
    level: config.logLevel,
    pretty: config.prettyLogs,
    secrets: secretValues(config),
  });
  const runtime = createPipelineRuntime(config, logger);
  const worker = createStageWorker(stage, runtime.deps, {
    connection: runtime.workerConnection,
    prefix: config.redis.prefix,
    concurrency: config.workers.concurrency,
    lockDurationMs: config.workers.lockDurationMs,
    stalledIntervalMs: config.workers.stalledIntervalMs,
  });
  worker.on('error', (error) => logger.error({ err: error }, 'worker error'));
  await worker.waitUntilReady();
  logger.info({ stage, concurrency: config.workers.concurrency }, `worker-${stage} ready`);
  // Whatever LOG_LEVEL says, supervisors (pnpm start, the tests) wait for this line.
  process.stdout.write(`worker-${stage} ready\n`);
  // The create workers also tick the schedules: a tick's only effect is to create an export.
  const scheduler =
    stage === 'create'
      ? createScheduleWorker(
          {
            schedules: new ScheduleStore(runtime.workerConnection, config.redis.prefix),
            store: runtime.deps.store,
            queues: runtime.deps.queues,
            fullstory: runtime.deps.fullstory,
            limiter: runtime.deps.limiter,
            logger,
          },
          { connection: runtime.workerConnection, prefix: config.redis.prefix },
        )
      : undefined;
  scheduler?.on('error', (error) => logger.error({ err: error }, 'scheduler error'));

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
    await Promise.all([worker.close(), scheduler?.close()]);
    await runtime.close();
    process.exit(0);
  };
  process.once('SIGTERM', () => void stop('SIGTERM'));
  process.once('SIGINT', () => void stop('SIGINT'));
  return worker;
}
