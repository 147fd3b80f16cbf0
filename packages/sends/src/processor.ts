import { isFullStoryError } from '@fsx/fullstory';
import { canRetry, delayJob, describeError, isFinalAttempt, WaitSignal } from '@fsx/pipeline';
import { type Job, UnrecoverableError } from 'bullmq';
import type { SendDeps } from './context.js';
import type { SendKind } from './items.js';
import { record, unsettledItems } from './outcomes.js';
import { batchJobId, enqueueBatch, flushId, type SendJob, sendJobSchema } from './queue.js';
import { sendAsImport } from './send-import.js';
import { sendSingly } from './send-singly.js';

/** Gathers queued items of one credential and kind into batches named `${baseId}.${i}`. */
async function flush(
  deps: SendDeps,
  baseId: string,
  job: { credential: string; kind: SendKind },
): Promise<void> {
  for (let i = 0; ; i++) {
    // Batch ids follow from the job: a re-run returns the batches it made, then goes on.
    const batchId = `${baseId}.${i}`;
    const taken = await deps.store.takeBatch(batchId, {
      credential: job.credential,
      kind: job.kind,
      max: deps.settings.batchMax,
      importThreshold: deps.settings.importThreshold,
    });
    if (taken === 0) return;
    await enqueueBatch(deps.queue, batchId);
    // A batch short of full drained the queue: items arriving now belong to the next window's
    // flush (looping on would cut a stream of requests into tiny batches).
    if (taken < deps.settings.batchMax) return;
  }
}

/** How many open batches one sweep checks on, oldest first. */
const SWEEP_BATCHES = 1_000;

/**
 * Flushes every queue, then sees that each open batch has a job that will settle it. Batch ids
 * come from the sweep's own (unique) job id. No queue is skipped for being empty: a sweep run
 * again after a crash must find, and enqueue, the batches it took before.
 */
async function sweep(deps: SendDeps, jobId: string): Promise<void> {
  for (const [n, queue] of (await deps.store.pendingQueues()).entries())
    await flush(deps, `sweep-${jobId.replace(/[^\w-]/g, '-')}-${n}`, queue);
  await reconcileBatches(deps);
}

/**
 * Open batches no job will settle: one whose job was never added (its flush died between taking
 * the items and enqueueing it, and never ran again) is enqueued; one whose job failed before its
 * items were (stalled past the limit in a process that then died) fails them with the reason.
 */
async function reconcileBatches(deps: SendDeps): Promise<void> {
  for (const batchId of await deps.store.openBatchIds(SWEEP_BATCHES)) {
    const batch = await deps.store.getBatch(batchId);
    if (!batch || batch.state === 'settled') {
      await deps.store.forgetOpenBatch(batchId);
      continue;
    }
    const job = await deps.queue.getJob(batchJobId(batchId));
    if (!job) {
      deps.logger.warn({ batchId }, 'open batch without a job; enqueueing it');
      await enqueueBatch(deps.queue, batchId);
    } else if (await job.isFailed()) {
      deps.logger.warn(
        { batchId, reason: job.failedReason },
        'failed batch left open; failing its items',
      );
      await failBatch(deps, batchId, new Error(job.failedReason));
    }
  }
}

async function sendBatch(deps: SendDeps, batchId: string): Promise<void> {
  const batch = await deps.store.getBatch(batchId);
  if (!batch || batch.state === 'settled') return;
  if (batch.mode === 'single') return sendSingly(deps, batch);
  return sendAsImport(deps, batch);
}

/** A batch that cannot go on (tries spent, a refused key): its items fail with the reason. */
export async function failBatch(deps: SendDeps, batchId: string, error: unknown): Promise<void> {
  const batch = await deps.store.getBatch(batchId);
  if (!batch) return;
  const code = isFullStoryError(error) ? (error.apiCode ?? error.code) : 'send_failed';
  const items = await unsettledItems(deps, batch.refs);
  await record(
    deps,
    batch,
    items.map(({ ref }) => ({ ref, failure: { code, message: describeError(error) } })),
  );
  await deps.store.updateBatch(batchId, { state: 'settled' });
}

/**
 * The send stage as a BullMQ processor. Waits (no token, a running import) become delayed jobs;
 * retryable errors are retried with backoff; when a batch can go no further its items are failed
 * with the reason, where `GET /v1/sends/{id}` shows them. Nothing is dropped silently.
 */
export function sendProcessor(deps: SendDeps) {
  return async (job: Job<SendJob>, token?: string): Promise<void> => {
    const data = sendJobSchema.parse(job.data);
    const log = deps.logger.child({ jobId: job.id });
    try {
      if (data.type === 'flush')
        await flush(deps, flushId(data.credential, data.kind, data.window), data);
      else if (data.type === 'sweep') await sweep(deps, String(job.id));
      else await sendBatch(deps, data.batchId);
    } catch (error) {
      if (error instanceof WaitSignal) {
        log.debug({ delayMs: error.delayMs, reason: error.reason }, 'waiting');
        return delayJob(job, token, error);
      }
      if (data.type === 'batch' && (!canRetry(error) || isFinalAttempt(job))) {
        log.error({ err: error, batchId: data.batchId }, 'batch failed; its items fail with it');
        await failBatch(deps, data.batchId, error);
        throw new UnrecoverableError(describeError(error));
      }
      log.warn({ err: error, attempt: job.attemptsMade + 1 }, 'send job failed; will retry');
      throw error;
    }
  };
}
