import { DEFAULT_CREDENTIAL } from '@fsx/config';
import {
  bootWorkerApp,
  createCallbackWorker,
  createPipelineRuntime,
  serveUntilSignal,
} from '@fsx/pipeline';
import type { EventStore } from '@fsx/sinks';
import { Worker } from 'bullmq';
import { webhookProcessor } from './handler.js';
import { WEBHOOK_QUEUE, type WebhookJob } from './queue.js';

/** The webhook worker app: acts on queued FullStory webhooks; closes with grace on a signal. */
export async function runWebhookWorkerApp(env: Record<string, string | undefined> = process.env) {
  const { config, logger } = bootWorkerApp('worker-webhook', env);
  const runtime = createPipelineRuntime(config, logger);
  // Notes and events go to the default sink when it can hold them (the files sink cannot).
  const defaultSink = runtime.deps.sink(config.sinks.default) as Partial<EventStore>;
  const events = (defaultSink.saveEvent ? defaultSink : runtime.deps.sink('duckdb')) as EventStore;
  const worker = new Worker<WebhookJob>(
    WEBHOOK_QUEUE,
    webhookProcessor({
      store: runtime.deps.store,
      queues: runtime.deps.queues,
      events,
      rules: {
        alertExport: config.webhooks.alertExport,
        credential: DEFAULT_CREDENTIAL,
        sink: config.sinks.default,
      },
      logger,
    }),
    {
      connection: runtime.workerConnection,
      prefix: config.redis.prefix,
      concurrency: config.workers.concurrency,
      lockDuration: config.workers.lockDurationMs,
      stalledInterval: config.workers.stalledIntervalMs,
    },
  );
  // Completion callbacks go out from here too: webhooks in, callbacks out.
  const callbacks = config.webhooks.callbackSecret
    ? createCallbackWorker(
        { store: runtime.deps.store, secret: config.webhooks.callbackSecret, logger },
        { connection: runtime.workerConnection, prefix: config.redis.prefix },
      )
    : undefined;
  await serveUntilSignal('worker-webhook', logger, callbacks ? [worker, callbacks] : [worker], () =>
    runtime.close(),
  );
  return worker;
}
