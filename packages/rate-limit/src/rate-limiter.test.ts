import { execFile } from 'node:child_process';
import path from 'node:path';
import { promisify } from 'node:util';
import { useTestRedis } from '@fsx/testing';
import { describe, expect, it } from 'vitest';
import { bucketId, RateLimiter } from './index.js';

const redis = useTestRedis();

function limiter(quota: { burst: number; perMinute: number }, headroom = 0) {
  return new RateLimiter({ redis: redis.connect(), prefix: redis.prefix, quota, headroom });
}

describe('RateLimiter', () => {
  it('grants the burst at once, then says how long until the next token', async () => {
    const rl = limiter({ burst: 3, perMinute: 60 });
    const results = [];
    for (let i = 0; i < 4; i++) results.push(await rl.acquire('na1.key-burst'));
    expect(results.slice(0, 3)).toEqual([
      { granted: true, remaining: 2 },
      { granted: true, remaining: 1 },
      { granted: true, remaining: 0 },
    ]);
    const denied = results[3];
    expect(denied?.granted).toBe(false);
    if (denied && !denied.granted) {
      expect(denied.retryAfterMs).toBeGreaterThan(900);
      expect(denied.retryAfterMs).toBeLessThanOrEqual(1000);
    }
  });

  it('leaves the reserved tokens to callers that ask without a reserve', async () => {
    const rl = limiter({ burst: 5, perMinute: 1 });
    const key = 'na1.key-reserve';
    const low = [];
    for (let i = 0; i < 4; i++) low.push((await rl.acquire(key, { reserve: 2 })).granted);
    // With 2 reserved, low-priority callers get 3 of the 5; the last 2 go to the others.
    expect(low).toEqual([true, true, true, false]);
    expect((await rl.acquire(key)).granted).toBe(true);
    expect((await rl.acquire(key)).granted).toBe(true);
    expect((await rl.acquire(key)).granted).toBe(false);
  });

  it('refills at the configured rate', async () => {
    const rl = limiter({ burst: 1, perMinute: 600 });
    expect((await rl.acquire('na1.refill')).granted).toBe(true);
    expect((await rl.acquire('na1.refill')).granted).toBe(false);
    await new Promise((r) => setTimeout(r, 110));
    expect((await rl.acquire('na1.refill')).granted).toBe(true);
  });

  it('keeps a bucket per key, stored under a hash of the key, never the key', async () => {
    const rl = limiter({ burst: 1, perMinute: 1 });
    expect((await rl.acquire('na1.first-secret')).granted).toBe(true);
    expect((await rl.acquire('na1.second-secret')).granted).toBe(true);
    expect((await rl.acquire('na1.first-secret')).granted).toBe(false);
    const keys = await redis.connect().keys(`${redis.prefix}*`);
    expect(keys).toContain(`${redis.prefix}:ratelimit:${bucketId('na1.first-secret')}`);
    expect(keys.join()).not.toContain('secret');
  });

  it('holds back headroom tokens from the server burst', async () => {
    const rl = limiter({ burst: 3, perMinute: 1 }, 1);
    const granted = [];
    for (let i = 0; i < 3; i++) granted.push((await rl.acquire('na1.headroom')).granted);
    expect(granted).toEqual([true, true, false]);
  });

  it('penalize() blocks every caller until Retry-After, then the bucket refills from empty', async () => {
    const rl = limiter({ burst: 10, perMinute: 600 });
    const other = limiter({ burst: 10, perMinute: 600 });
    await rl.penalize('na1.penalized', 300);
    const blocked = await other.acquire('na1.penalized');
    expect(blocked.granted).toBe(false);
    if (!blocked.granted) expect(blocked.retryAfterMs).toBeGreaterThan(250);
    await new Promise((r) => setTimeout(r, 320));
    const after = await other.acquire('na1.penalized');
    expect(after).toMatchObject({ granted: true });
    // Emptied, not reset to a full burst: only what refilled during the block is there.
    if (after.granted) expect(after.remaining).toBeLessThanOrEqual(3);
  });

  it('never lets 8 processes exceed burst + rate × elapsed, and uses at least 95% of it', async () => {
    const burst = 20;
    const perMinute = 1200; // 20 a second
    const durationMs = 2500;
    const child = path.join(import.meta.dirname, 'hammer-child.ts');
    const run = promisify(execFile);
    const outputs = await Promise.all(
      Array.from({ length: 8 }, () =>
        run(
          process.execPath,
          [
            '--import',
            'tsx',
            child,
            redis.url,
            redis.prefix,
            'na1.shared',
            String(burst),
            String(perMinute),
            String(durationMs),
          ],
          {
            env: { ...process.env, HAMMER_PROCESSES: '8' },
          },
        ),
      ),
    );
    const results = outputs.map(
      (o) => JSON.parse(o.stdout) as { granted: number; grantTimes: number[] },
    );
    const times = results.flatMap((r) => r.grantTimes).sort((a, b) => a - b);
    const granted = results.reduce((sum, r) => sum + r.granted, 0);
    const elapsedMs = (times.at(-1) ?? 0) - (times[0] ?? 0);
    const budget = burst + (perMinute / 60_000) * elapsedMs;
    expect(results.every((r) => r.granted > 0)).toBe(true);
    expect(granted).toBeLessThanOrEqual(Math.floor(budget) + 1);
    expect(granted).toBeGreaterThanOrEqual(0.95 * budget);
    // In every window, not just overall: no sliding window of the grants beats the bucket.
    for (let i = 0; i < times.length; i++) {
      for (let j = i + burst; j < times.length; j++) {
        const windowMs = (times[j] as number) - (times[i] as number);
        expect(j - i + 1).toBeLessThanOrEqual(
          burst + Math.floor((perMinute / 60_000) * windowMs) + 1,
        );
      }
    }
  }, 60_000);
});
