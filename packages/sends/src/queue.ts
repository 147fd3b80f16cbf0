import { createHash } from 'node:crypto';
import { CAPPED_EXPONENTIAL, cappedExponentialBackoff, createQueue } from '@fsx/queues';
import type { Queue } from 'bullmq';
import type { Redis } from 'ioredis';
import { z } from 'zod';
import { SEND_KINDS } from './items.js';

export const SEND_QUEUE = 'send';

/**
 * Jobs carry ids only: `flush` gathers queued items into batches (one per accepted request,
 * delayed a little so items arriving together travel together), `batch` sends one batch, and a
 * periodic `sweep` flushes anything left queued. Ids are deterministic, so a re-run enqueues
 * nothing twice.
 */
export const sendJobSchema = z.discriminatedUnion('type', [
  z.object({
    type: z.literal('flush'),
    /** The gathering window this flush closes (its start, in ms since the epoch). */
    window: z.number().int().nonnegative(),
    credential: z.string().min(1),
    kind: z.enum(SEND_KINDS),
  }),
  z.object({ type: z.literal('batch'), batchId: z.string().min(1) }),
  z.object({ type: z.literal('sweep') }),
]);
export type SendJob = z.infer<typeof sendJobSchema>;

/**
 * A batch's failed tries add up over its whole life (creation, polls, error listing), so it gets
 * many, at a capped pace: 2 s doubling to 60 s, then every 60 s, about 15 minutes in all (half
 * that at the most jitter) before its items fail. Uncapped, 8 tries ended in about 4 minutes.
 */
const SEND_ATTEMPTS = 20;

/** What every worker of the send queue needs: its jobs' backoff is computed there. */
export const SEND_WORKER_SETTINGS = { backoffStrategy: cappedExponentialBackoff };

export function createSendQueue(connection: Redis, prefix: string): Queue<SendJob> {
  return createQueue<SendJob>(SEND_QUEUE, connection, prefix, {
    attempts: SEND_ATTEMPTS,
    backoff: { type: CAPPED_EXPONENTIAL, delay: 2_000, jitter: 0.5 },
    removeOnComplete: { age: 86_400, count: 5_000 },
    removeOnFail: { age: 14 * 86_400, count: 20_000 },
  });
}

/**
 * Asks for the queued items of a credential and kind to be flushed at the end of the current
 * gathering window. Every request in one window shares the job (its id names the window), so a
 * steady stream of small requests becomes one batch per window, not one per request.
 */
export async function enqueueFlush(
  queue: Queue<SendJob>,
  job: { credential: string; kind: (typeof SEND_KINDS)[number] },
  gatherMs: number,
  nowMs = Date.now(),
): Promise<void> {
  const windowMs = Math.max(1, gatherMs);
  const window = Math.floor(nowMs / windowMs) * windowMs;
  // Half a window late: a request from a host whose clock runs a little behind still makes it.
  const delay = window + windowMs + Math.floor(gatherMs / 2) - nowMs;
  await queue.add(
    'flush',
    { type: 'flush', window, ...job },
    { jobId: `flush.${flushId(job.credential, job.kind, window)}`, delay: Math.max(0, delay) },
  );
}

/** A flush's id, also the base of its batches' ids (`${flushId}.${i}`). */
export function flushId(credential: string, kind: string, window: number): string {
  return `${createHash('sha256').update(credential).digest('hex').slice(0, 12)}-${kind}-${window}`;
}

/**
 * Every `everyMs`, a sweep flushes whatever is still queued: items whose flush job ran out of
 * tries, or were queued just as their flush finished. One schedule however many workers start.
 */
export async function scheduleSweep(queue: Queue<SendJob>, everyMs: number): Promise<void> {
  await queue.upsertJobScheduler(
    'send-sweep',
    { every: everyMs },
    { name: 'sweep', data: { type: 'sweep' }, opts: { removeOnComplete: true, removeOnFail: 100 } },
  );
}

/** The job of batch `batchId`: one per batch, so enqueueing it again adds nothing. */
export const batchJobId = (batchId: string) => `batch.${batchId}`;

export async function enqueueBatch(
  queue: Queue<SendJob>,
  batchId: string,
  delayMs = 0,
): Promise<void> {
  await queue.add(
    'batch',
    { type: 'batch', batchId },
    { jobId: batchJobId(batchId), ...(delayMs > 0 ? { delay: delayMs } : {}) },
  );
}
