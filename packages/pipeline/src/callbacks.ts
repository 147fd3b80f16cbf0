import { createHmac } from 'node:crypto';
import type { Logger } from '@fsx/logger';
import { type Job, Queue, Worker } from 'bullmq';
import type { Redis } from 'ioredis';
import { request } from 'undici';
import { exportView } from './backfill.js';
import type { ExportStore } from './export-store.js';

export const CALLBACK_QUEUE = 'callback';

export function createCallbackQueue(
  connection: Redis,
  prefix: string,
): Queue<{ exportId: string }> {
  const queue = new Queue<{ exportId: string }>(CALLBACK_QUEUE, {
    connection,
    prefix,
    defaultJobOptions: {
      attempts: 10,
      backoff: { type: 'exponential', delay: 2_000, jitter: 0.5 },
      removeOnComplete: { age: 7 * 86_400 },
      removeOnFail: { age: 14 * 86_400 },
    },
  });
  queue.on('error', () => {});
  return queue;
}

/** `Fsx-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256(secret, "<t>.<body>")>`, as receivers expect of webhooks. */
export function signCallback(body: string, secret: string, timestampSeconds: number): string {
  const v1 = createHmac('sha256', secret).update(`${timestampSeconds}.${body}`).digest('hex');
  return `t=${timestampSeconds},v1=${v1}`;
}

/** Posts an ended export's record to its callbackUrl, signed; a non-2xx answer is retried with backoff. */
export function createCallbackWorker(
  deps: { store: ExportStore; secret: string; logger: Logger },
  options: { connection: Redis; prefix: string },
) {
  return new Worker<{ exportId: string }>(
    CALLBACK_QUEUE,
    async (job: Job<{ exportId: string }>) => {
      const record = await deps.store.get(job.data.exportId);
      if (!record?.callbackUrl) return 'no callback';
      const body = JSON.stringify(await exportView(deps.store, record));
      const response = await request(record.callbackUrl, {
        method: 'POST',
        body,
        headers: {
          'content-type': 'application/json',
          'fsx-signature': signCallback(body, deps.secret, Math.floor(Date.now() / 1000)),
          'fsx-delivery': String(job.id),
        },
        headersTimeout: 10_000,
        bodyTimeout: 10_000,
      });
      await response.body.dump();
      if (response.statusCode < 200 || response.statusCode >= 300) {
        deps.logger.warn(
          { exportId: record.id, status: response.statusCode, attempt: job.attemptsMade + 1 },
          'callback refused; will retry with backoff',
        );
        throw new Error(`callback answered ${response.statusCode}`);
      }
      deps.logger.info(
        { exportId: record.id, attempt: job.attemptsMade + 1 },
        'callback delivered',
      );
      return 'delivered';
    },
    { connection: options.connection, prefix: options.prefix, concurrency: 8 },
  );
}
