import { mkdtemp } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { loadConfig } from '@fsx/config';
import { createLogger } from '@fsx/logger';
import { createPipelineRuntime, createStageWorker } from '@fsx/pipeline';
import { STAGES } from '@fsx/queues';

/**
 * fsx's five stages in this process (real BullMQ workers, real Redis, the shared limiter) against
 * a simulator at `baseUrl`, with time scaled like the benchmarks' quota: poll bounds divided by
 * `scale`. `env` adds the credentials and quota.
 */
export async function startInProcessFsx(options: {
  name: string;
  redisUrl: string;
  baseUrl: string;
  scale: number;
  concurrency: number;
  env: Record<string, string>;
}) {
  const config = loadConfig({
    REDIS_URL: options.redisUrl,
    QUEUE_PREFIX: `{bench-${options.name}-${Date.now()}}`,
    FULLSTORY_BASE_URL: options.baseUrl,
    FULLSTORY_DOWNLOAD_HOSTS: new URL(options.baseUrl).host,
    DATA_DIR: await mkdtemp(path.join(os.tmpdir(), `fsx-bench-${options.name}-`)),
    POLL_MIN_DELAY_MS: String(Math.round(2_000 / options.scale) + 20),
    POLL_MAX_DELAY_MS: String(Math.round(300_000 / options.scale)),
    POLL_FIRST_DELAY_MS: String(Math.round(30_000 / options.scale)),
    WORKER_CONCURRENCY: String(options.concurrency),
    ...options.env,
  });
  const runtime = createPipelineRuntime(
    config,
    createLogger({ name: 'bench', level: 'silent', pretty: false }),
  );
  const workers = STAGES.map((stage) =>
    createStageWorker(stage, runtime.deps, {
      connection: runtime.workerConnection,
      prefix: config.redis.prefix,
      concurrency: options.concurrency,
    }),
  );
  return {
    runtime,
    async stop() {
      await Promise.all(workers.map((w) => w.close()));
      await runtime.close();
    },
  };
}
