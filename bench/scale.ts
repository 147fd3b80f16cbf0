// bench/scale: the whole system as processes. (1) zero 429s whatever the number of processes per
// API-calling stage; (2) ingest throughput with one and two ingest processes (files sink, which
// takes parallel writers), in the same run.
import { mkdtemp } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { buildWorkspace, launchSystem } from '@fsx/launcher';
import { findFreePort, provideRedis } from '@fsx/testing';
import { request } from 'undici';
import { table } from './stats.js';

// The processes run their built JavaScript, as `pnpm start` and the Docker image run them.
await buildWorkspace(path.resolve(import.meta.dirname, '..'));
const redis = await provideRedis();

async function http(method: 'GET' | 'POST', url: string, body?: unknown) {
  const response = await request(url, {
    method,
    ...(body
      ? { body: JSON.stringify(body), headers: { 'content-type': 'application/json' } }
      : {}),
  });
  return JSON.parse(await response.body.text());
}

async function run(
  label: string,
  replicas: Record<string, number>,
  env: Record<string, string>,
  exports: number,
  sink: string,
) {
  const system = await launchSystem({
    built: true,
    port: await findFreePort(),
    dataDir: await mkdtemp(path.join(os.tmpdir(), 'fsx-bench-scale-')),
    logDir: path.join(os.tmpdir(), `fsx-bench-scale-logs-${label}`),
    replicas,
    env: {
      PATH: process.env.PATH,
      REDIS_URL: redis.url,
      QUEUE_PREFIX: `{scale-${label}-${Date.now()}}`,
      LOG_LEVEL: 'warn',
      // The bench polls every export's status four times a second.
      INTAKE_RATE_LIMIT_PER_MINUTE: '1000000',
      ...env,
    },
  });
  try {
    const started = Date.now();
    const ids: string[] = [];
    for (let i = 0; i < exports; i++) {
      const day = new Date(Date.UTC(2026, 5, 1) + i * 86_400_000).toISOString();
      const end = new Date(Date.parse(day) + 3_600_000).toISOString();
      ids.push(
        (
          await http('POST', `${system.intakeUrl}/v1/exports`, {
            segmentId: 'everyone',
            type: 'events',
            format: 'csv',
            sink,
            timeRange: { start: day, end },
          })
        ).id,
      );
    }
    let records: { state: string; rows: number | null }[] = [];
    for (;;) {
      records = await Promise.all(
        ids.map((id) => http('GET', `${system.intakeUrl}/v1/exports/${id}`)),
      );
      if (records.every((r) => ['completed', 'failed'].includes(r.state))) break;
      await sleep(250);
    }
    const seconds = (Date.now() - started) / 1000;
    const stats = await http('GET', `${system.simulatorUrl}/__sim/stats`);
    const rows = records.reduce((sum, r) => sum + (r.rows ?? 0), 0);
    return {
      completed: records.filter((r) => r.state === 'completed').length,
      seconds,
      rows,
      rateLimited: stats.rateLimited as number,
    };
  } finally {
    await system.stop();
  }
}

const quotaRows = [];
for (const n of [1, 4, 8]) {
  const result = await run(
    `quota-${n}`,
    { create: n, poll: n, fetch: n },
    {
      SIM_QUOTA_BURST: '10',
      SIM_QUOTA_PER_MINUTE: '120',
      QUOTA_BURST: '10',
      QUOTA_PER_MINUTE: '120',
      SIM_OPERATION_SECONDS: '1',
      SIM_ROWS_PER_EXPORT: '10',
      POLL_MIN_DELAY_MS: '200',
      POLL_FIRST_DELAY_MS: '200',
    },
    30,
    'duckdb',
  );
  quotaRows.push({
    'processes per API stage': n,
    exports: result.completed,
    seconds: result.seconds.toFixed(1),
    '429s': result.rateLimited,
  });
}

// The simulator keeps generated files here between runs: a first (cold) run generates them, so the
// measured runs time fsx's download and ingest, not the simulator writing 100,000-row files.
const simCache = await mkdtemp(path.join(os.tmpdir(), 'fsx-bench-scale-sim-'));
const ingestRows = [];
for (const [label, n] of [
  ['cold', 1],
  ['1', 1],
  ['2', 2],
] as const) {
  const result = await run(
    `ingest-${label}`,
    { ingest: n, download: 2 },
    {
      SIM_QUOTA_BURST: '500',
      SIM_QUOTA_PER_MINUTE: '6000',
      QUOTA_BURST: '500',
      QUOTA_PER_MINUTE: '6000',
      SIM_OPERATION_SECONDS: '0',
      SIM_ROWS_PER_EXPORT: '100000',
      POLL_MIN_DELAY_MS: '100',
      POLL_FIRST_DELAY_MS: '100',
      WORKER_CONCURRENCY: '1',
      SIM_CACHE_DIR: simCache,
    },
    8,
    'files',
  );
  ingestRows.push({
    'ingest processes': label === 'cold' ? '1 (cold simulator cache)' : n,
    exports: result.completed,
    rows: result.rows,
    seconds: result.seconds.toFixed(1),
    'rows/s end to end': Math.round(result.rows / result.seconds),
  });
}
const ratio =
  Number(ingestRows[2]?.['rows/s end to end']) / Number(ingestRows[1]?.['rows/s end to end']);
process.stdout.write(
  `bench/scale on ${os.cpus().length} cores\n${table(quotaRows)}\n\n${table(ingestRows)}\n2 vs 1 ingest processes: ${ratio.toFixed(2)}×\n`,
);
await redis.stop();
