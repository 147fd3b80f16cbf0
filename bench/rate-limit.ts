// bench/rate-limit: acquire() throughput and latency against a real Redis, beside a bare
// round trip (PING) measured the same way in the same run, so the ratio is what to read.
import { performance } from 'node:perf_hooks';
import { RateLimiter } from '@fsx/rate-limit';
import { provideRedis } from '@fsx/testing';
import { Redis } from 'ioredis';
import { percentile, table } from './stats.js';

const OPS = Number(process.env.BENCH_OPS ?? 20_000);
const redisHandle = await provideRedis();
const redis = new Redis(redisHandle.url);
const limiter = new RateLimiter({
  redis,
  prefix: '{bench}',
  quota: { burst: 1_000_000_000, perMinute: 1_000_000_000 }, // never deny: measure the script
});

async function measure(concurrency: number, op: () => Promise<unknown>) {
  const latencies: number[] = [];
  let next = 0;
  const started = performance.now();
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < OPS) {
        next += 1;
        const t = performance.now();
        await op();
        latencies.push(performance.now() - t);
      }
    }),
  );
  const seconds = (performance.now() - started) / 1000;
  latencies.sort((a, b) => a - b);
  return {
    opsPerSecond: OPS / seconds,
    p50: percentile(latencies, 50),
    p99: percentile(latencies, 99),
  };
}

const rows: Record<string, string | number>[] = [];
for (const concurrency of [1, 16, 64]) {
  await measure(concurrency, () => limiter.acquire('na1.bench-key')); // warm-up
  const ping = await measure(concurrency, () => redis.ping());
  const acquire = await measure(concurrency, () => limiter.acquire('na1.bench-key'));
  rows.push({
    concurrency,
    'acquire ops/s': Math.round(acquire.opsPerSecond),
    'acquire p50 ms': acquire.p50.toFixed(3),
    'acquire p99 ms': acquire.p99.toFixed(3),
    'PING ops/s': Math.round(ping.opsPerSecond),
    'acquire/PING': (acquire.opsPerSecond / ping.opsPerSecond).toFixed(2),
  });
}
process.stdout.write(
  `bench/rate-limit: ${OPS} operations per row, Redis from ${redisHandle.source}\n`,
);
process.stdout.write(`${table(rows)}\n`);
redis.disconnect();
await redisHandle.stop();
