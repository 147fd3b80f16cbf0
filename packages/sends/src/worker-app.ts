import { createDispatcher, FullStoryServerClient } from '@fsx/fullstory';
import {
  bootWorkerApp,
  PipelineMetrics,
  serveUntilSignal,
  UnknownCredentialError,
} from '@fsx/pipeline';
import { createRedis } from '@fsx/queues';
import { RateLimiter } from '@fsx/rate-limit';
import { Worker } from 'bullmq';
import type { SendDeps } from './context.js';
import { failBatch, sendProcessor } from './processor.js';
import {
  createSendQueue,
  SEND_QUEUE,
  SEND_WORKER_SETTINGS,
  type SendJob,
  scheduleSweep,
} from './queue.js';
import { SendStore } from './send-store.js';

/** The send worker app: users and events into FullStory's server API; closes with grace. */
export async function runSendWorkerApp(env: Record<string, string | undefined> = process.env) {
  const { config, logger } = bootWorkerApp('worker-send', env);
  const redis = createRedis(config.redis.url, 'worker');
  const blocking = createRedis(config.redis.url, 'worker');
  const dispatcher = createDispatcher();
  const clients = new Map<string, FullStoryServerClient>();
  const queue = createSendQueue(redis, config.redis.prefix);
  const deps: SendDeps = {
    store: new SendStore(redis, config.redis.prefix),
    queue,
    limiter: new RateLimiter({ redis, prefix: config.redis.prefix, quota: config.sends.quota }),
    server(credential) {
      const apiKey = config.fullstory.credentials[credential];
      if (!apiKey) throw new UnknownCredentialError(credential);
      let client = clients.get(credential);
      if (!client) {
        client = new FullStoryServerClient({
          baseUrl: config.fullstory.baseUrl,
          apiKey,
          dispatcher,
          timeoutMs: config.fullstory.requestTimeoutMs,
        });
        clients.set(credential, client);
      }
      return { client, apiKey };
    },
    metrics: new PipelineMetrics(redis, config.redis.prefix),
    logger,
    settings: config.sends,
  };
  const worker = new Worker<SendJob>(SEND_QUEUE, sendProcessor(deps), {
    connection: blocking,
    prefix: config.redis.prefix,
    concurrency: config.workers.concurrency,
    settings: SEND_WORKER_SETTINGS,
    lockDuration: config.workers.lockDurationMs,
    stalledInterval: config.workers.stalledIntervalMs,
    // A batch is safe to run again and again; giving up early would strand its items.
    maxStalledCount: 20,
  });
  worker.on('failed', (job, error) => {
    // Stalled past the limit, the processor never saw it: fail the items here, with the reason.
    if (job?.data.type === 'batch' && /stalled/i.test(error.message))
      failBatch(deps, job.data.batchId, error).catch((err) =>
        logger.error({ err, jobId: job.id }, 'could not record a stalled batch as failed'),
      );
  });
  await scheduleSweep(queue, config.sends.sweepMs);
  await serveUntilSignal(
    'worker-send',
    logger,
    [worker],
    async () => {
      await queue.close();
      await dispatcher.close();
      redis.disconnect();
      blocking.disconnect();
    },
    { concurrency: config.workers.concurrency },
  );
  return worker;
}
