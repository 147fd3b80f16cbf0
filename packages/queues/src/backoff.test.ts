import { useTestRedis } from '@fsx/testing';
import { Queue, Worker } from 'bullmq';
import { afterAll, describe, expect, it } from 'vitest';
import {
  BACKOFF_CAP_MS,
  CAPPED_EXPONENTIAL,
  cappedBackoffMs,
  cappedExponentialBackoff,
} from './index.js';

const redis = useTestRedis();
const closing: { close(): Promise<void> }[] = [];
afterAll(async () => {
  for (const c of closing.reverse()) await c.close();
});

describe('cappedBackoffMs', () => {
  it('doubles from the delay as BullMQ’s exponential backoff does, then stays at the cap', () => {
    const waits = Array.from({ length: 9 }, (_, i) => cappedBackoffMs(i + 1, { delayMs: 2_000 }));
    expect(waits).toEqual([2_000, 4_000, 8_000, 16_000, 32_000, 60_000, 60_000, 60_000, 60_000]);
    expect(cappedBackoffMs(40, { delayMs: 2_000 })).toBe(BACKOFF_CAP_MS);
  });

  it('takes up to the jitter’s share off, never adds to the cap', () => {
    expect(cappedBackoffMs(3, { delayMs: 1_000, jitter: 0.5 }, () => 0)).toBe(4_000);
    expect(cappedBackoffMs(3, { delayMs: 1_000, jitter: 0.5 }, () => 1)).toBe(2_000);
    expect(cappedBackoffMs(30, { delayMs: 1_000, jitter: 0.5 }, () => 0.5)).toBe(45_000);
    expect(cappedBackoffMs(2, { delayMs: 100, capMs: 150 })).toBe(150);
  });
});

describe('cappedExponentialBackoff in BullMQ', () => {
  it('retries a failing job at the job’s own delay, where BullMQ alone knows no such type', async () => {
    const name = `backoff-${Date.now()}`;
    const queue = new Queue(name, { connection: redis.connect(), prefix: redis.prefix });
    closing.push(queue);
    const tries: number[] = [];
    const worker = new Worker(
      name,
      async () => {
        tries.push(Date.now());
        if (tries.length < 4) throw new Error('FullStory answered 503');
        return 'sent';
      },
      {
        connection: redis.connect({ maxRetriesPerRequest: null }),
        prefix: redis.prefix,
        settings: { backoffStrategy: cappedExponentialBackoff },
      },
    );
    closing.push(worker);
    const job = await queue.add(
      'batch',
      {},
      { attempts: 5, backoff: { type: CAPPED_EXPONENTIAL, delay: 100 } },
    );
    await expect
      .poll(async () => (await queue.getJob(job.id!))?.returnvalue, {
        timeout: 10_000,
      })
      .toBe('sent');
    expect(tries).toHaveLength(4);
    const gaps = tries.slice(1).map((t, i) => t - tries[i]!);
    // 100, 200 and 400 ms: each gap at least its backoff (BullMQ's delayed set adds a little).
    for (const [i, gap] of gaps.entries()) expect(gap).toBeGreaterThanOrEqual(100 * 2 ** i - 20);
  });

  it('refuses a backoff type it does not know, rather than guess a delay', () => {
    expect(() =>
      cappedExponentialBackoff(1, 'linear', new Error('x'), {
        opts: { backoff: { type: 'linear', delay: 5 } },
      } as never),
    ).toThrow(/unknown backoff type linear/);
  });
});
