import type { Stage, StageJob } from '@fsx/queues';
import { Worker } from 'bullmq';
import type { Redis } from 'ioredis';
import type { PipelineDeps } from './context.js';
import { stageProcessor } from './stage-runner.js';
import { STAGE_HANDLERS } from './stages/index.js';

export interface StageWorkerOptions {
  connection: Redis;
  prefix: string;
  concurrency: number;
  /** @defaultValue 30000 */
  lockDurationMs?: number;
  /** @defaultValue 30000 */
  stalledIntervalMs?: number;
}

/**
 * A BullMQ worker for one stage. Locks are renewed while a job runs (downloads and DuckDB loads
 * leave the event loop free), so the lock only bounds how soon a killed worker's job is retried.
 */
export function createStageWorker(
  stage: Stage,
  deps: PipelineDeps,
  options: StageWorkerOptions,
): Worker<StageJob> {
  return new Worker<StageJob>(stage, stageProcessor(stage, deps, STAGE_HANDLERS[stage]), {
    connection: options.connection,
    prefix: options.prefix,
    concurrency: options.concurrency,
    lockDuration: options.lockDurationMs ?? 30_000,
    stalledInterval: options.stalledIntervalMs ?? 30_000,
    maxStalledCount: 3,
  });
}
