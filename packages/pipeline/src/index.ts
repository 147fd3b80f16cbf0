export { cancelBackfill, exportView, splitWindows, submitBackfill } from './backfill.js';
export {
  CALLBACK_QUEUE,
  createCallbackQueue,
  createCallbackWorker,
  signCallback,
} from './callbacks.js';
export type { FullStoryAccess, PipelineDeps } from './context.js';
export {
  canRetry,
  delayJob,
  describeError,
  ExportFailedError,
  isFinalAttempt,
  UnknownCredentialError,
  WaitSignal,
} from './errors.js';
export {
  EXPORT_STAGES,
  EXPORT_STATES,
  type ExportRecord,
  type ExportSpec,
  type ExportState,
  exportSpecSchema,
  publicView,
  TERMINAL_STATES,
} from './export-record.js';
export { type ExportPatch, ExportStore, type NewExport } from './export-store.js';
export {
  firstRequestId,
  IdempotencyKeyReusedError,
  idempotencyValue,
  requestFingerprint,
} from './idempotency.js';
export { type Labels, METRICS, type MetricName, PipelineMetrics } from './metrics.js';
export { type Page, pageNewestFirst } from './newest-first.js';
export { OperationDurations } from './operation-durations.js';
export { type PollBounds, type PollObservation, pollDelayMs } from './poll-schedule.js';
export { availableSinks, createPipelineRuntime, type PipelineRuntime } from './runtime.js';
export {
  createScheduleQueue,
  createScheduleWorker,
  cronIntervalMs,
  nextCronMs,
  parseEvery,
  SCHEDULE_QUEUE,
  type Schedule,
  type ScheduleDeps,
  ScheduleStore,
  startSchedule,
  tickSchedule,
} from './schedules.js';
export { type StageHandler, type StageRun, stageProcessor } from './stage-runner.js';
export { GzipBombError, inflateGzip, StagingStore, verifyGzip } from './staging.js';
export { cancelExport, submitExport } from './submit.js';
export { createStageWorker, type StageWorkerOptions } from './worker.js';
export { runWorkerApp } from './worker-app.js';
export { bootWorkerApp, serveUntilSignal } from './worker-lifecycle.js';
