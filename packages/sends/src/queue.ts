import { Queue } from 'bullmq';
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
    sendId: z.string().min(1),
    credential: z.string().min(1),
    kind: z.enum(SEND_KINDS),
  }),
  z.object({ type: z.literal('batch'), batchId: z.string().min(1) }),
  z.object({ type: z.literal('sweep') }),
]);
export type SendJob = z.infer<typeof sendJobSchema>;

export function createSendQueue(connection: Redis, prefix: string): Queue<SendJob> {
  const queue = new Queue<SendJob>(SEND_QUEUE, {
    connection,
    prefix,
    defaultJobOptions: {
      attempts: 8,
      backoff: { type: 'exponential', delay: 2_000, jitter: 0.5 },
      removeOnComplete: { age: 86_400, count: 5_000 },
      removeOnFail: { age: 14 * 86_400, count: 20_000 },
    },
  });
  queue.on('error', () => {});
  return queue;
}

export async function enqueueFlush(
  queue: Queue<SendJob>,
  job: { sendId: string; credential: string; kind: (typeof SEND_KINDS)[number] },
  gatherMs: number,
): Promise<void> {
  await queue.add(
    'flush',
    { type: 'flush', ...job },
    { jobId: `flush.${job.sendId}`, ...(gatherMs > 0 ? { delay: gatherMs } : {}) },
  );
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

export async function enqueueBatch(
  queue: Queue<SendJob>,
  batchId: string,
  delayMs = 0,
): Promise<void> {
  await queue.add(
    'batch',
    { type: 'batch', batchId },
    { jobId: `batch.${batchId}`, ...(delayMs > 0 ? { delay: delayMs } : {}) },
  );
}
