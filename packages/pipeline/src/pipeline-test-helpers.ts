import { mkdtemp } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { loadConfig } from '@fsx/config';
import { createSimulator, type SimulatorOptions } from '@fsx/fullstory-sim';
import { createLogger } from '@fsx/logger';
import { STAGES, stageJobId } from '@fsx/queues';
import { DuckDbSink } from '@fsx/sinks';
import type { TestRedis } from '@fsx/testing';
import type { Worker } from 'bullmq';
import { expect, inject } from 'vitest';
import type { ExportRecord } from './export-record.js';
import {
  createPipelineRuntime,
  createStageWorker,
  type ExportSpec,
  submitExport,
} from './index.js';

export const DAY = { start: '2026-11-01T00:00:00Z', end: '2026-11-02T00:00:00Z' };

/** The whole pipeline in this process: simulator, five real BullMQ workers, DuckDB, real Redis. */
export async function startPipeline(
  redis: TestRedis,
  simOptions: SimulatorOptions = {},
  env: Record<string, string> = {},
) {
  const sim = createSimulator({ operationMs: 300, rowsPerExport: 400, ...simOptions });
  const baseUrl = await sim.listen();
  const dataDir = await mkdtemp(path.join(os.tmpdir(), 'fsx-pipeline-'));
  const config = loadConfig({
    REDIS_URL: redis.url,
    QUEUE_PREFIX: redis.prefix,
    FULLSTORY_BASE_URL: baseUrl,
    FULLSTORY_DOWNLOAD_HOSTS: new URL(baseUrl).host,
    FULLSTORY_API_KEY: 'na1.sim-admin',
    DATA_DIR: dataDir,
    POLL_MIN_DELAY_MS: '100',
    POLL_FIRST_DELAY_MS: '100',
    POLL_MAX_DELAY_MS: '2000',
    QUOTA_BURST: '50',
    QUOTA_PER_MINUTE: '600',
    LOG_LEVEL: 'silent',
    DATABASE_URL: inject('postgresUrl'),
    ...env,
  });
  const logger = createLogger({ name: 'test', level: 'silent', pretty: false });
  const runtime = createPipelineRuntime(config, logger);
  const workers: Worker[] = STAGES.map((stage) =>
    createStageWorker(stage, runtime.deps, {
      connection: runtime.workerConnection,
      prefix: config.redis.prefix,
      concurrency: 2,
    }),
  );
  await Promise.all(workers.map((w) => w.waitUntilReady()));

  const submit = (
    spec: Partial<ExportSpec> = {},
    idempotencyKey?: string,
    sink = 'duckdb',
    callbackUrl?: string,
  ) =>
    submitExport(runtime.deps.store, runtime.deps.queues, {
      spec: { segmentId: 'everyone', type: 'events', format: 'json', timeRange: DAY, ...spec },
      credential: 'default',
      sink,
      ...(idempotencyKey ? { idempotencyKey } : {}),
      ...(callbackUrl ? { callbackUrl } : {}),
    });

  const waitFor = async (
    id: string,
    states = ['completed', 'failed', 'cancelled'],
    timeoutMs = 20_000,
  ): Promise<ExportRecord> => {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const record = await runtime.deps.store.get(id);
      if (record && states.includes(record.state)) return record;
      if (Date.now() > deadline)
        throw new Error(
          `export ${id} still ${record?.state}/${record?.stage} after ${timeoutMs} ms: ${record?.lastError}`,
        );
      await new Promise((r) => setTimeout(r, 50));
    }
  };

  const digest = (kind: 'events' | 'individuals', id: string) =>
    new DuckDbSink({ path: config.sinks.duckdbPath }).digest(kind, id);

  const stop = async () => {
    await Promise.all(workers.map((w) => w.close()));
    await runtime.close();
    await sim.close();
  };
  return { sim, config, runtime, workers, submit, waitFor, digest, stop };
}

type Pipeline = Awaited<ReturnType<typeof startPipeline>>;

/**
 * Waits until export `id` says it waits for its sink, with `reason`, and checks that it waits as
 * a delayed job that has spent no attempt (the worker is not holding it). Returns its record.
 */
export async function expectWaitingForSink(on: Pipeline, id: string, reason: string) {
  const deadline = Date.now() + 20_000;
  let waiting = await on.runtime.deps.store.get(id);
  while (!waiting?.lastError?.includes('waiting for the sink') && Date.now() < deadline) {
    await new Promise((r) => setTimeout(r, 100));
    waiting = await on.runtime.deps.store.get(id);
  }
  expect(waiting).toMatchObject({
    state: 'running',
    stage: 'ingest',
    lastError: expect.stringContaining(`ingest: waiting for the sink: ${reason}`),
  });
  const job = await on.runtime.deps.queues.ingest.getJob(
    stageJobId('ingest', id, waiting?.step ?? -1),
  );
  expect(await job?.getState()).toBe('delayed');
  expect(job?.attemptsMade).toBe(0);
  return waiting;
}
