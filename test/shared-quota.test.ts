import { setTimeout as sleep } from 'node:timers/promises';
import { FullStoryClient, isFullStoryError, type RateLimitedError } from '@fsx/fullstory';
import { createSimulator } from '@fsx/fullstory-sim';
import { RateLimiter } from '@fsx/rate-limit';
import { useTestRedis } from '@fsx/testing';
import { afterAll, describe, expect, it } from 'vitest';

const redis = useTestRedis();
const KEY = 'na1.sim-admin';

describe('one limiter in front of FullStory', () => {
  const sim = createSimulator({
    quota: { burst: 5, perMinute: 600 },
    operationMs: 0,
    rowsPerExport: 1,
  });
  afterAll(() => sim.close());

  it('lets 8 concurrent callers through with zero 429s from the simulator', async () => {
    const baseUrl = await sim.listen();
    const quota = { burst: 5, perMinute: 600 };
    const callsPerCaller = 6;
    let waits = 0;
    const caller = async (index: number) => {
      // Each caller has its own connection, as separate worker processes would.
      const limiter = new RateLimiter({ redis: redis.connect(), prefix: redis.prefix, quota });
      const client = new FullStoryClient({ baseUrl, apiKey: KEY });
      for (let done = 0; done < callsPerCaller; ) {
        const token = await limiter.acquire(KEY);
        if (!token.granted) {
          waits += 1;
          await sleep(token.retryAfterMs);
          continue;
        }
        try {
          if (done % 3 === 0) await client.getSegment('everyone');
          else if (done % 3 === 1)
            await client.createSegmentExport({
              segmentId: 'everyone',
              type: 'events',
              format: 'json',
            });
          else await client.listSegmentsPage(undefined, 5);
        } catch (error) {
          if (isFullStoryError(error, 'fullstory.rate_limited')) {
            await limiter.penalize(KEY, (error as RateLimitedError).retryAfterMs);
          }
          throw new Error(`caller ${index} failed`, { cause: error });
        }
        done += 1;
      }
    };
    await Promise.all(Array.from({ length: 8 }, (_, i) => caller(i)));
    const stats = sim.stats.toJSON();
    const calls = Object.values(stats.requests)
      .flatMap((byStatus) => Object.values(byStatus))
      .reduce((a, b) => a + b, 0);
    expect(calls).toBe(48);
    expect(stats.rateLimited).toBe(0);
    expect(waits).toBeGreaterThan(0); // the limiter, not luck, kept the simulator happy
  }, 30_000);
});
