import type { Stage } from '@fsx/queues';
import { startHousekeeping } from './housekeeping.js';
import { createPipelineRuntime } from './runtime.js';
import { createScheduleWorker, ScheduleStore } from './schedules.js';
import { createStageWorker } from './worker.js';
import { bootWorkerApp, serveUntilSignal, threadPoolShortfall } from './worker-lifecycle.js';

/**
 * The whole of a stage worker app: read config once, build the pipeline, run one stage's worker,
 * and on SIGTERM/SIGINT finish in-flight jobs (or, past the grace period, leave them to be
 * picked up again as stalled: every stage is idempotent).
 */
export async function runWorkerApp(
  stage: Stage,
  env: Record<string, string | undefined> = process.env,
) {
  const name = `worker-${stage}`;
  const { config, logger } = bootWorkerApp(name, env);
  const shortfall = threadPoolShortfall(stage, config.workers);
  if (shortfall) logger.warn({ recommended: shortfall.recommended }, shortfall.message);
  const runtime = createPipelineRuntime(config, logger);
  const worker = createStageWorker(stage, runtime.deps, {
    connection: runtime.workerConnection,
    prefix: config.redis.prefix,
    concurrency: config.workers.concurrency,
    lockDurationMs: config.workers.lockDurationMs,
    stalledIntervalMs: config.workers.stalledIntervalMs,
  });
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
  // The stages that write to disk clean up after exports that ended, and loads that died, early.
  const stopHousekeeping =
    stage === 'download' || stage === 'ingest'
      ? startHousekeeping(
          {
            staging: runtime.deps.staging,
            store: runtime.deps.store,
            ...(stage === 'ingest' ? { tempDir: config.storage.tempDir } : {}),
          },
          logger,
        )
      : () => {};
  await serveUntilSignal(
    name,
    logger,
    scheduler ? [worker, scheduler] : [worker],
    () => {
      stopHousekeeping();
      return runtime.close();
    },
    {
      stage,
      concurrency: config.workers.concurrency,
      threadPoolSize: config.workers.threadPoolSize,
    },
  );
  return worker;
}
