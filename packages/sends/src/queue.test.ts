import { useTestRedis } from '@fsx/testing';
import { afterAll, describe, expect, it } from 'vitest';
import { createSendQueue, enqueueFlush } from './queue.js';

const redis = useTestRedis();
const queue = createSendQueue(redis.connect({ maxRetriesPerRequest: null }), redis.prefix);
afterAll(() => queue.close());

describe('enqueueFlush', () => {
  it('gives every request of one gathering window the same flush, due at the window end', async () => {
    const job = { credential: 'default', kind: 'events' as const };
    const t0 = 1_800_000_000_000; // a window boundary for 500 ms windows
    await enqueueFlush(queue, job, 500, t0 + 10);
    await enqueueFlush(queue, job, 500, t0 + 480);
    await enqueueFlush(queue, job, 500, t0 + 510);
    await enqueueFlush(queue, { ...job, kind: 'users' }, 500, t0 + 20);
    const jobs = await queue.getJobs(['delayed', 'waiting']);
    const windows = jobs.map(
      (j) =>
        `${j.data.type === 'flush' && j.data.kind}@${j.data.type === 'flush' && j.data.window - t0}`,
    );
    expect(windows.sort()).toEqual(['events@0', 'events@500', 'users@0']);
    const first = jobs.find(
      (j) => j.data.type === 'flush' && j.data.kind === 'events' && j.data.window === t0,
    );
    // Enqueued at +10 ms: due at the window's end plus half a window.
    expect(first?.opts.delay).toBe(500 + 250 - 10);
  });
});
