import { useTestRedis } from '@fsx/testing';
import { afterAll, describe, expect, it } from 'vitest';
import { closeQueues, createRedis, createStageQueues, enqueueStage, STAGES } from './index.js';

const redis = useTestRedis();
const connection = createRedis(redis.url, 'producer');
const queues = createStageQueues(connection, redis.prefix);
afterAll(async () => {
  await closeQueues(queues);
  connection.disconnect();
});

describe('stage queues', () => {
  it('has one queue per stage under the hash-tag prefix', async () => {
    expect(Object.keys(queues)).toEqual([...STAGES]);
    await enqueueStage(queues, 'create', { exportId: 'e1', step: 0 });
    const keys = await redis.connect().keys(`${redis.prefix}:create:*`);
    expect(keys.length).toBeGreaterThan(0);
  });

  it('enqueues one job for a hand-off made twice', async () => {
    await enqueueStage(queues, 'poll', { exportId: 'e2', step: 1 });
    await enqueueStage(queues, 'poll', { exportId: 'e2', step: 1 });
    await enqueueStage(queues, 'poll', { exportId: 'e2', step: 2 }, { delayMs: 60_000 });
    expect(await queues.poll.getWaitingCount()).toBe(1);
    expect(await queues.poll.getDelayedCount()).toBe(1);
    const job = await queues.poll.getJob('e2.poll.1');
    expect(job?.data).toEqual({ exportId: 'e2', step: 1 });
    expect(job?.opts.attempts).toBe(10);
  });

  it('rejects a malformed payload before it reaches Redis', async () => {
    await expect(enqueueStage(queues, 'fetch', { exportId: '', step: -1 })).rejects.toThrow();
  });
});
