// bench/intake: POST /v1/exports on the real intake (validation, Redis record, BullMQ enqueue)
// beside a bare Fastify route doing only the same validation, in the same run.

import { createApp, createExportBodySchema } from '@fsx/intake';
import { createLogger } from '@fsx/logger';
import { ExportStore } from '@fsx/pipeline';
import { closeQueues, createRedis, createStageQueues, waitUntilReady } from '@fsx/queues';
import { provideRedis } from '@fsx/testing';
import autocannon from 'autocannon';
import Fastify from 'fastify';
import {
  serializerCompiler,
  validatorCompiler,
  type ZodTypeProvider,
} from 'fastify-type-provider-zod';
import { table } from './stats.js';

const SECONDS = Number(process.env.BENCH_SECONDS ?? 10);
const redisHandle = await provideRedis();
const redis = createRedis(redisHandle.url, 'producer');
await waitUntilReady(redis);
const prefix = `{bench-intake-${Date.now()}}`;
const queues = createStageQueues(redis, prefix);
const logger = createLogger({ name: 'bench', level: 'silent', pretty: false });
const intake = await createApp({
  redis,
  store: new ExportStore(redis, prefix),
  queues,
  logger,
  credentials: ['default'],
  defaultSink: 'duckdb',
  sinks: ['duckdb'],
  publicUrl: 'http://bench',
  apiTokens: [],
  prefix,
  rateLimitPerMinute: 100_000_000,
  maxSpanDays: 92,
});

const bare = Fastify().withTypeProvider<ZodTypeProvider>();
bare.setValidatorCompiler(validatorCompiler);
bare.setSerializerCompiler(serializerCompiler);
bare.post(
  '/v1/exports',
  { schema: { body: createExportBodySchema(92) } },
  async (_request, reply) => reply.code(202).send({ id: 'x', status: 'queued' }),
);

const body = JSON.stringify({
  segmentId: 'everyone',
  type: 'events',
  format: 'ndjson',
  timeRange: { start: '2026-11-01T00:00:00Z', end: '2026-11-02T00:00:00Z' },
});

async function load(url: string) {
  const result = await autocannon({
    url: `${url}/v1/exports`,
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body,
    connections: 20,
    duration: SECONDS,
  });
  return { rps: result.requests.average, p99: result.latency.p99, non2xx: result.non2xx };
}

const intakeUrl = await intake.listen({ port: 0, host: '127.0.0.1' });
const bareUrl = await bare.listen({ port: 0, host: '127.0.0.1' });
const real = await load(intakeUrl);
const baseline = await load(bareUrl);
process.stdout.write(
  `bench/intake: ${SECONDS} s each, 20 connections, Redis from ${redisHandle.source}\n`,
);
process.stdout.write(
  `${table([
    {
      route: 'intake POST /v1/exports (record + enqueue)',
      'req/s': Math.round(real.rps),
      'p99 ms': real.p99,
      'non-2xx': real.non2xx,
    },
    {
      route: 'bare Fastify, same validation only',
      'req/s': Math.round(baseline.rps),
      'p99 ms': baseline.p99,
      'non-2xx': baseline.non2xx,
    },
  ])}\nintake/bare throughput: ${(real.rps / baseline.rps).toFixed(2)}\n`,
);
await intake.close();
await bare.close();
await closeQueues(queues);
redis.disconnect();
await redisHandle.stop();
