import { FullStoryServerClient } from '@fsx/fullstory';
import { createSimulator, type SimulatorOptions } from '@fsx/fullstory-sim';
import { createLogger } from '@fsx/logger';
import { PipelineMetrics } from '@fsx/pipeline';
import { RateLimiter } from '@fsx/rate-limit';
import { useTestRedis } from '@fsx/testing';
import { Worker } from 'bullmq';
import { afterAll } from 'vitest';
import type { SendDeps, SendSettings } from './context.js';
import type { SendKind } from './items.js';
import { sendProcessor } from './processor.js';
import {
  createSendQueue,
  enqueueFlush,
  SEND_QUEUE,
  SEND_WORKER_SETTINGS,
  type SendJob,
} from './queue.js';
import { SendStore } from './send-store.js';

export const API_KEY = 'na1.sim-admin';

/**
 * A real Redis, real BullMQ queue and worker, and the simulator in-process: the send stage as it
 * runs in worker-send, with settings small enough for a test.
 */
export async function startSendStage(
  options: {
    sim?: SimulatorOptions;
    settings?: Partial<SendSettings>;
    quota?: { burst: number; perMinute: number };
  } = {},
) {
  const redis = useTestRedis();
  const sim = createSimulator({ batchMs: { base: 100, perItem: 0 }, ...options.sim });
  const baseUrl = await sim.listen();
  const connection = redis.connect({ maxRetriesPerRequest: null });
  const queue = createSendQueue(connection, redis.prefix);
  const deps: SendDeps = {
    store: new SendStore(connection, redis.prefix),
    queue,
    limiter: new RateLimiter({
      redis: connection,
      prefix: redis.prefix,
      quota: options.quota ?? { burst: 100, perMinute: 6_000 },
    }),
    server: () => ({
      client: new FullStoryServerClient({ baseUrl, apiKey: API_KEY }),
      apiKey: API_KEY,
    }),
    metrics: new PipelineMetrics(connection, redis.prefix),
    logger: createLogger({ name: 'send-test', level: 'warn' }),
    settings: {
      batchMax: 500,
      importThreshold: 10,
      gatherMs: 50,
      maxItemAttempts: 4,
      pollMinDelayMs: 100,
      pollMaxDelayMs: 500,
      ...options.settings,
    },
  };
  const worker = new Worker<SendJob>(SEND_QUEUE, sendProcessor(deps), {
    connection: redis.connect({ maxRetriesPerRequest: null }),
    prefix: redis.prefix,
    concurrency: 4,
    settings: SEND_WORKER_SETTINGS,
  });
  afterAll(async () => {
    await worker.close();
    await queue.close();
    await sim.close();
  });

  async function submit(kind: SendKind, items: unknown[], idempotencyKey?: string) {
    const { id, created } = await deps.store.create({
      kind,
      credential: 'default',
      items,
      ...(idempotencyKey ? { idempotencyKey } : {}),
    });
    if (created) await enqueueFlush(queue, { credential: 'default', kind }, deps.settings.gatherMs);
    return id;
  }

  async function finished(id: string, timeoutMs = 20_000) {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const view = await deps.store.view(id);
      if (view && view.pending === 0) return view;
      if (Date.now() > deadline)
        throw new Error(`send ${id} not finished: ${JSON.stringify(view)}`);
      await new Promise((r) => setTimeout(r, 50));
    }
  }

  /** Takes the queued items of `kind` into batch `batchId`, as a flush would (no job added). */
  function takeBatch(batchId: string, kind: SendKind) {
    const { batchMax: max, importThreshold } = deps.settings;
    return deps.store.takeBatch(batchId, { credential: 'default', kind, max, importThreshold });
  }

  async function stored() {
    const dump = (await sim.app.inject('/__sim/server')).json();
    return dump[API_KEY] as { users: any[]; events: any[] };
  }

  return { sim, deps, queue, worker, submit, finished, takeBatch, stored, redis };
}
