// bench/quota: how fast fsx moves exports when FullStory's quota is the limit, beside a naive
// client (fixed 10 s polling, no shared limiter, retry on 429), in the same run. Time is scaled:
// one real second is one FullStory minute (quota 2/min → 2/s; a 20-minute export takes 20 s).
import { setTimeout as sleep } from 'node:timers/promises';
import { FullStoryClient, isFullStoryError, type RateLimitedError } from '@fsx/fullstory';
import { createSimulator, type Simulator } from '@fsx/fullstory-sim';
import { submitExport } from '@fsx/pipeline';
import { provideRedis } from '@fsx/testing';
import { startInProcessFsx } from './in-process.js';
import { percentile, table } from './stats.js';

const SCALE = 60; // real ms × 60 = FullStory ms
const EXPORTS = Number(process.env.BENCH_EXPORTS ?? 200);
const BURST = 50;
const PER_MINUTE = 2 * SCALE;
const KEY = 'na1.sim-admin';

// Operation durations from 30 s to 20 min (log-uniform, seeded), scaled.
let seed = 42;
const random = () => {
  seed = (seed * 1_103_515_245 + 12_345) % 2 ** 31;
  return seed / 2 ** 31;
};
const durations = Array.from(
  { length: EXPORTS * 2 },
  () => (30_000 * Math.exp(random() * Math.log(40))) / SCALE,
);

function simulator(): Simulator {
  return createSimulator({
    quota: { burst: BURST, perMinute: PER_MINUTE },
    operationMs: (index) => durations[(index - 1) % durations.length] as number,
    rowsPerExport: 5,
  });
}

interface Outcome {
  completed: number;
  seconds: number;
  sim: Simulator;
}

function figures(name: string, { completed, seconds, sim }: Outcome) {
  const stats = sim.stats.toJSON();
  const calls = (route: string) =>
    Object.values(stats.requests[route] ?? {}).reduce((a, b) => a + b, 0);
  const create = calls('POST /segments/v1/exports');
  const poll = calls('GET /operations/v1/:operationId');
  const results = calls('GET /search/v1/exports/:searchExportId/results');
  const total = create + poll + results;
  const granted = total - stats.rateLimited;
  const available = BURST + (PER_MINUTE / 60) * seconds;
  const seen = Object.values(stats.exports).filter((e) => e.finishedAtMs && e.completionSeenAtMs);
  const lags = seen
    .map((e) => (e.completionSeenAtMs as number) - (e.finishedAtMs as number))
    .sort((a, b) => a - b);
  const relative = seen
    .map(
      (e) =>
        ((e.completionSeenAtMs as number) - (e.finishedAtMs as number)) / (e.durationMs as number),
    )
    .sort((a, b) => a - b);
  return {
    client: name,
    completed,
    'calls/export': (total / Math.max(1, completed)).toFixed(2),
    'create/export': (create / Math.max(1, completed)).toFixed(2),
    'polls/export': (poll / Math.max(1, completed)).toFixed(2),
    'results/export': (results / Math.max(1, completed)).toFixed(2),
    '429s': stats.rateLimited,
    'quota used': `${Math.round((100 * granted) / available)}%`,
    'exports/min': (completed / (seconds / 60) / SCALE).toFixed(3),
    'median detect lag (FS s)': ((percentile(lags, 50) * SCALE) / 1000).toFixed(1),
    'median lag / duration': `${Math.round(100 * percentile(relative, 50))}%`,
  };
}

async function runFsx(redisUrl: string, createReserve = 0): Promise<Outcome> {
  const sim = simulator();
  const baseUrl = await sim.listen();
  const fsx = await startInProcessFsx({
    name: 'quota',
    redisUrl,
    baseUrl,
    scale: SCALE,
    concurrency: 16,
    env: {
      FULLSTORY_API_KEY: KEY,
      QUOTA_BURST: String(BURST),
      QUOTA_PER_MINUTE: String(PER_MINUTE),
      QUOTA_CREATE_RESERVE: String(createReserve),
    },
  });
  const { runtime } = fsx;
  const started = Date.now();
  const ids: string[] = [];
  for (let i = 0; i < EXPORTS; i++) {
    const day = new Date(Date.UTC(2026, 0, 1) + i * 86_400_000).toISOString();
    const end = new Date(Date.parse(day) + 3_600_000).toISOString();
    const { record } = await submitExport(runtime.deps.store, runtime.deps.queues, {
      spec: {
        segmentId: 'everyone',
        type: 'events',
        format: 'json',
        timeRange: { start: day, end },
      },
      credential: 'default',
      sink: 'duckdb',
    });
    ids.push(record.id);
  }
  let completed = 0;
  for (;;) {
    const records = await Promise.all(ids.map((id) => runtime.deps.store.get(id)));
    completed = records.filter((r) => r?.state === 'completed').length;
    if (records.every((r) => r && ['completed', 'failed'].includes(r.state))) break;
    await sleep(200);
  }
  const seconds = (Date.now() - started) / 1000;
  await fsx.stop();
  await sim.close();
  return { completed, seconds, sim };
}

async function runNaive(budgetSeconds: number): Promise<Outcome> {
  const sim = simulator();
  const client = new FullStoryClient({ baseUrl: await sim.listen(), apiKey: KEY });
  const started = Date.now();
  const deadline = started + budgetSeconds * 1000;
  const retrying = async <T>(call: () => Promise<T>): Promise<T> => {
    for (;;) {
      try {
        return await call();
      } catch (error) {
        if (!isFullStoryError(error, 'fullstory.rate_limited') || Date.now() > deadline)
          throw error;
        await sleep((error as RateLimitedError).retryAfterMs);
      }
    }
  };
  let completed = 0;
  await Promise.all(
    Array.from({ length: EXPORTS }, async (_, i) => {
      try {
        const day = new Date(Date.UTC(2026, 0, 1) + i * 86_400_000).toISOString();
        const end = new Date(Date.parse(day) + 3_600_000).toISOString();
        const { operationId } = await retrying(() =>
          client.createSegmentExport({
            segmentId: 'everyone',
            type: 'events',
            format: 'json',
            timeRange: { start: day, end },
          }),
        );
        for (;;) {
          await sleep(10_000 / SCALE);
          const operation = await retrying(() => client.getOperation(operationId));
          if (operation.done) {
            await retrying(() => client.getExportResults(operation.searchExportId as string));
            completed += 1;
            return;
          }
        }
      } catch {
        // out of time
      }
    }),
  );
  const seconds = (Date.now() - started) / 1000;
  await sim.close();
  return { completed, seconds, sim };
}

const redis = await provideRedis();
const fsx = figures('fsx', await runFsx(redis.url));
// The same with 3 tokens left to polls of running exports (QUOTA_CREATE_RESERVE=3).
const reserved = figures('fsx reserve 3', await runFsx(redis.url, 3));
const naive = figures('naive', await runNaive(Number(process.env.BENCH_NAIVE_SECONDS ?? 300)));
const rows = [fsx, reserved, naive];
const target = (0.95 * 2) / Number(fsx['calls/export']);
process.stdout.write(
  `bench/quota: ${EXPORTS} exports, quota burst ${BURST} + 2/min, operations 30 s–20 min, time ×${SCALE}\n${table(rows)}\n` +
    `fsx vs naive: ${(Number(naive['calls/export']) / Number(fsx['calls/export'])).toFixed(2)}× fewer calls per export, ` +
    `${(Number(fsx['exports/min']) / Number(naive['exports/min'])).toFixed(2)}× the exports per minute\n` +
    `target exports/min ≥ 0.95 × 2 ÷ calls/export = ${target.toFixed(3)}\n`,
);
await redis.stop();
