import { type DefaultJobOptions, Queue } from 'bullmq';
import type { Redis } from 'ioredis';
import {
  JOB_OPTIONS,
  RETENTION,
  STAGES,
  type Stage,
  type StageJob,
  stageJobId,
  stageJobSchema,
} from './catalog.js';

export type StageQueues = Record<Stage, Queue<StageJob>>;

/**
 * One of fsx's queues. Its connection errors go to `onError`: unhandled, the event emitter would
 * throw them, and the caller retries the command that failed anyway.
 */
export function createQueue<Job>(
  name: string,
  connection: Redis,
  prefix: string,
  defaultJobOptions: DefaultJobOptions,
  onError: (error: Error) => void = () => {},
): Queue<Job> {
  const queue = new Queue<Job>(name, { connection, prefix, defaultJobOptions });
  queue.on('error', onError);
  return queue;
}

export function createStageQueues(
  connection: Redis,
  prefix: string,
  options: { onError?: (error: Error, stage: Stage) => void } = {},
): StageQueues {
  return Object.fromEntries(
    STAGES.map((stage) => {
      const queue = createQueue<StageJob>(
        stage,
        connection,
        prefix,
        { ...JOB_OPTIONS[stage], ...RETENTION },
        (error) => options.onError?.(error, stage),
      );
      return [stage, queue];
    }),
  ) as StageQueues;
}

/**
 * Enqueues a stage's job. The id comes from export and step, so enqueueing the same hand-off
 * twice (a stage re-run after a stall) yields one job.
 */
export async function enqueueStage(
  queues: StageQueues,
  stage: Stage,
  job: StageJob,
  options: { delayMs?: number } = {},
): Promise<void> {
  const data = stageJobSchema.parse(job);
  await queues[stage].add(stage, data, {
    jobId: stageJobId(stage, data.exportId, data.step),
    ...(options.delayMs ? { delay: Math.max(0, Math.round(options.delayMs)) } : {}),
  });
}

export async function closeQueues(queues: StageQueues): Promise<void> {
  await Promise.all(Object.values(queues).map((q) => q.close()));
}
