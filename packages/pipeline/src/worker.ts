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
}

/** A BullMQ worker for one stage. Ingest keeps a longer lock: loading a big file takes a while. */
export function createStageWorker(
  stage: Stage,
  deps: PipelineDeps,
  options: StageWorkerOptions,
): Worker<StageJob> {
  return new Worker<StageJob>(stage, stageProcessor(stage, deps, STAGE_HANDLERS[stage]), {
    connection: options.connection,
    prefix: options.prefix,
    concurrency: options.concurrency,
    lockDuration: stage === 'ingest' || stage === 'download' ? 120_000 : 30_000,
    maxStalledCount: 3,
  });
}
