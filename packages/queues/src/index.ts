export {
  BACKOFF_CAP_MS,
  CAPPED_EXPONENTIAL,
  cappedBackoffMs,
  cappedExponentialBackoff,
} from './backoff.js';
export {
  JOB_OPTIONS,
  RETENTION,
  STAGES,
  type Stage,
  type StageJob,
  stageJobId,
  stageJobSchema,
} from './catalog.js';
export { createRedis, waitUntilReady } from './connection.js';
export {
  closeQueues,
  createQueue,
  createStageQueues,
  enqueueStage,
  type StageQueues,
} from './queues.js';
