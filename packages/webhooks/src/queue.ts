import { createQueue } from '@fsx/queues';
import type { Queue } from 'bullmq';
import type { Redis } from 'ioredis';
import { z } from 'zod';

export const WEBHOOK_QUEUE = 'webhook';

export const webhookJobSchema = z.object({
  eventId: z.string(),
  receivedAt: z.string(),
  envelope: z.object({
    eventName: z.string(),
    version: z.unknown().optional(),
    data: z.record(z.string(), z.unknown()),
  }),
});
export type WebhookJob = z.infer<typeof webhookJobSchema>;

export function createWebhookQueue(connection: Redis, prefix: string): Queue<WebhookJob> {
  return createQueue<WebhookJob>(WEBHOOK_QUEUE, connection, prefix, {
    attempts: 8,
    backoff: { type: 'exponential', delay: 2_000, jitter: 0.5 },
    removeOnComplete: { age: 7 * 86_400, count: 10_000 },
    removeOnFail: { age: 14 * 86_400 },
  });
}

/**
 * Queues a verified delivery once. The job id is the event id, and finished jobs are kept a week,
 * so a delivery FullStory retries within that week is an acknowledged no-op.
 */
export async function enqueueWebhook(
  queue: Queue<WebhookJob>,
  job: WebhookJob,
): Promise<{ duplicate: boolean }> {
  const jobId = `wh.${Buffer.from(job.eventId).toString('base64url')}`;
  if (await queue.getJob(jobId)) return { duplicate: true };
  await queue.add(job.envelope.eventName, job, { jobId });
  return { duplicate: false };
}
