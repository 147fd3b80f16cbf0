import { WaitSignal } from '@fsx/pipeline';
import { UnrecoverableError, Worker } from 'bullmq';
import { describe, expect, it } from 'vitest';
import { enqueueBatch, SEND_QUEUE } from './queue.js';
import { sendAsImport } from './send-import.js';
import { startSendStage } from './send-test-helpers.js';
import { serverBucket } from './server-call.js';

const users = (n: number, from = 0) =>
  Array.from({ length: n }, (_, i) => ({
    uid: `u${from + i}`,
    display_name: `User ${from + i}`,
    properties: { plan: 'free', n: from + i },
  }));

describe('send stage', () => {
  it('sends many items as one batch import, few as single calls, each item once', async () => {
    const { sim, submit, finished, stored } = await startSendStage();
    const many = await submit('users', users(200));
    const few = await submit('events', [
      { name: 'Signed Up', user: { uid: 'u1' } },
      { name: 'Upgraded', user: { uid: 'u2' }, properties: { plan: 'pro' } },
    ]);
    expect(await finished(many)).toMatchObject({ state: 'completed', sent: 200, failed: 0 });
    expect(await finished(few)).toMatchObject({ state: 'completed', sent: 2 });
    const { users: stored_, events } = await stored();
    expect(stored_.filter((u) => u.uid?.startsWith('u'))).toHaveLength(200);
    expect(stored_.every((u) => u.writes === 1 || ['u1', 'u2'].includes(u.uid))).toBe(true);
    expect(events.map((e) => e.name).sort()).toEqual(['Signed Up', 'Upgraded']);
    const requests = sim.stats.toJSON().requests;
    expect(requests['POST /v2/users/batch']?.['200']).toBe(1);
    expect(requests['POST /v2/users']).toBeUndefined();
    expect(requests['POST /v2/events']?.['200']).toBe(2);
  });

  it('records what FullStory refused, retries what it may retry, and loses nothing', async () => {
    const { sim, submit, finished, stored } = await startSendStage();
    sim.injectFault('batch_item_error', 7, 'server');
    const events = Array.from({ length: 40 }, (_, i) => ({
      name: 'Viewed',
      properties: { seq: i },
      // Every tenth names a FullStory user id that does not exist: a permanent failure.
      ...(i % 10 === 3 ? { user: { id: `missing-${i}` } } : { user: { uid: `v${i % 5}` } }),
    }));
    const id = await submit('events', events);
    const view = await finished(id);
    expect(view).toMatchObject({ state: 'partial', sent: 36, failed: 4 });
    expect(view.failures.map((f) => f.index)).toEqual([3, 13, 23, 33]);
    expect(view.failures[0]?.code).toBe('resource_not_found');
    const seqs = (await stored()).events.map((e) => e.properties.seq).sort((a, b) => a - b);
    expect(seqs).toEqual(events.map((_, i) => i).filter((i) => i % 10 !== 3));
    expect(sim.stats.faults.batch_item_error).toBe(7);
  });

  it('retries a batch that met 503s at its queue’s capped backoff, each item sent once', async () => {
    const { sim, submit, finished, stored } = await startSendStage();
    sim.injectFault('server_error', 2, 'server');
    const id = await submit('users', users(30, 500));
    expect(await finished(id)).toMatchObject({ state: 'completed', sent: 30, failed: 0 });
    expect(sim.stats.faults.server_error).toBe(2);
    const sent = (await stored()).users.filter((u) => /^u5[0-2]\d$/.test(u.uid ?? ''));
    expect(sent.map((u) => u.writes)).toEqual(Array(30).fill(1));
  });

  it('rides out a 429 storm without losing or doubling an item', async () => {
    const { sim, submit, finished, stored, deps } = await startSendStage();
    sim.app.inject; // the simulator answers half the server-API calls with 429 + Retry-After: 1
    await sim.app.inject({
      method: 'POST',
      url: '/__sim/faults',
      payload: { kind: 'rate_limited', rate: 0.5 },
    });
    const ids = [
      await submit('users', users(30, 1000)),
      await submit(
        'events',
        Array.from({ length: 5 }, (_, i) => ({ name: 'Stormy', properties: { i } })),
      ),
    ];
    for (const id of ids) expect((await finished(id, 30_000)).state).toBe('completed');
    await sim.app.inject({
      method: 'POST',
      url: '/__sim/faults',
      payload: { kind: 'rate_limited', rate: 0 },
    });
    const data = await stored();
    expect(data.users.filter((u) => u.uid?.startsWith('u1')).map((u) => u.writes)).toEqual(
      Array(30).fill(1),
    );
    expect(data.events.map((e) => e.properties.i).sort()).toEqual([0, 1, 2, 3, 4]);
    expect(sim.stats.rateLimited).toBeGreaterThan(0);
    const metrics = await deps.metrics!.read();
    expect(
      metrics.find((m) => m.name === 'fsx_fullstory_rate_limited_total')?.value,
    ).toBeGreaterThan(0);
  });

  it('a batch job that runs twice (stalled, duplicated) sends its items once', async () => {
    const { takeBatch, submit, finished, stored, queue } = await startSendStage({
      settings: { gatherMs: 300 },
    });
    const id = await submit('users', users(50, 5000));
    // Take the items into a batch ourselves, then hand the same batch to two jobs at once.
    await takeBatch(`${id}.0`, 'users');
    await queue.add('batch', { type: 'batch', batchId: `${id}.0` }, { jobId: 'dup-1' });
    await enqueueBatch(queue, `${id}.0`);
    expect(await finished(id)).toMatchObject({ state: 'completed', sent: 50 });
    const writes = (await stored()).users
      .filter((u) => u.uid?.startsWith('u5'))
      .map((u) => u.writes);
    expect(writes).toEqual(Array(50).fill(1));
  });

  it('an Idempotency-Key accepted twice queues the items once', async () => {
    const { submit, finished, stored } = await startSendStage();
    const a = await submit('events', [{ name: 'Once' }], 'key-1');
    const b = await submit('events', [{ name: 'Once' }], 'key-1');
    expect(b).toBe(a);
    await finished(a);
    expect((await stored()).events.filter((e) => e.name === 'Once')).toHaveLength(1);
  });

  it('a sweep sends items whose flush never came (a flush that ran out of tries)', async () => {
    const { deps, queue, finished, stored } = await startSendStage();
    const { id } = await deps.store.create({
      kind: 'users',
      credential: 'default',
      items: users(3, 9000),
    });
    expect(await deps.store.pendingCount('default', 'users')).toBe(3);
    await queue.add('sweep', { type: 'sweep' }, { jobId: 'sweep-test-1' });
    expect(await finished(id)).toMatchObject({ state: 'completed', sent: 3 });
    expect((await stored()).users.filter((u) => u.uid?.startsWith('u90'))).toHaveLength(3);
  });

  it('a sweep enqueues a batch whose flush died before enqueueing it', async () => {
    const { takeBatch, deps, queue, finished, stored } = await startSendStage();
    const { id } = await deps.store.create({
      kind: 'users',
      credential: 'default',
      items: users(4, 7000),
    });
    // The flush took the items and died: nothing is queued, and no job names the batch.
    expect(await takeBatch('orphan.0', 'users')).toBe(4);
    expect(await deps.store.pendingCount('default', 'users')).toBe(0);
    await queue.add('sweep', { type: 'sweep' }, { jobId: 'sweep-orphan' });
    expect(await finished(id)).toMatchObject({ state: 'completed', sent: 4 });
    expect((await stored()).users.filter((u) => u.uid?.startsWith('u700'))).toHaveLength(4);
    expect(await deps.store.openBatchIds(10)).toEqual([]);
  });

  it('a sweep fails the items of a batch whose job failed without recording them', async () => {
    const { takeBatch, deps, queue, worker, finished, redis } = await startSendStage();
    const { id } = await deps.store.create({
      kind: 'events',
      credential: 'default',
      items: [{ name: 'Lost' }, { name: 'Lost' }],
    });
    await takeBatch('dead.0', 'events');
    // The stage's worker stands aside; another takes the batch's job and fails it, as BullMQ does
    // a job stalled past its limit, and (a process killed then) records nothing.
    await worker.pause();
    await enqueueBatch(queue, 'dead.0');
    const taker = new Worker(SEND_QUEUE, null, {
      connection: redis.connect({ maxRetriesPerRequest: null }),
      prefix: redis.prefix,
    });
    const job = await taker.getNextJob('taker');
    expect(job?.id).toBe('batch.dead.0');
    await job!.moveToFailed(
      new UnrecoverableError('job stalled more than allowable limit'),
      'taker',
    );
    await taker.close();
    expect((await deps.store.view(id))?.pending).toBe(2);
    worker.resume();
    await queue.add('sweep', { type: 'sweep' }, { jobId: 'sweep-dead' });
    const view = await finished(id);
    expect(view).toMatchObject({ state: 'failed', failed: 2 });
    expect(view.failures.map((f) => f.message)).toEqual(
      Array(2).fill('job stalled more than allowable limit'),
    );
    expect(await deps.store.openBatchIds(10)).toEqual([]);
  });

  it('a 429 on the error listing holds every process back and costs the batch no try', async () => {
    const { takeBatch, deps, sim, worker, queue, finished } = await startSendStage();
    await worker.pause();
    const { id } = await deps.store.create({
      kind: 'events',
      credential: 'default',
      items: Array.from({ length: 12 }, (_, i) => ({ name: 'Listed', properties: { i } })),
    });
    await takeBatch('listing.0', 'events');
    sim.injectFault('batch_item_error', 2, 'server');
    const { client, apiKey } = deps.server('default');
    deps.server = () => ({ client, apiKey });
    await expect(sendAsImport(deps, (await deps.store.getBatch('listing.0'))!)).rejects.toThrow(
      WaitSignal,
    );
    // FullStory answers the status, then 429s the listing of the failed items that follows it.
    const status = client.getBatchImport.bind(client);
    client.getBatchImport = async (...args) => {
      const answer = await status(...args);
      if (answer.status !== 'PROCESSING') {
        sim.injectFault('rate_limited', 1, 'server');
        client.getBatchImport = status;
      }
      return answer;
    };
    let signal: unknown;
    for (
      let polls = 0;
      polls < 20 && !(signal instanceof WaitSignal && /429/.test(signal.reason));
      polls++
    ) {
      await new Promise((r) => setTimeout(r, 150));
      signal = await sendAsImport(deps, (await deps.store.getBatch('listing.0'))!).catch((e) => e);
    }
    expect(signal).toBeInstanceOf(WaitSignal);
    expect((signal as WaitSignal).reason).toBe('FullStory answered 429');
    expect((await deps.limiter.acquire(serverBucket(apiKey))).granted).toBe(false);
    worker.resume();
    await enqueueBatch(queue, 'listing.0');
    expect(await finished(id)).toMatchObject({ state: 'completed', sent: 12 });
    // No failed run: a try spent would have left its stack trace.
    expect((await queue.getJob('batch.listing.0'))?.stacktrace).toEqual([]);
  });

  it('updates by FullStory id go singly, and a uid once set cannot change', async () => {
    const { submit, finished, stored } = await startSendStage();
    await finished(await submit('users', [{ uid: 'fixed-1' }, { uid: 'fixed-2' }]));
    const ids = new Map((await stored()).users.map((u) => [u.uid, u.id]));
    // Amid a batch import's worth of upserts: two updates by id, one trying to change the uid.
    const view = await finished(
      await submit('users', [
        ...users(20, 7000),
        { id: ids.get('fixed-1'), display_name: 'Renamed' },
        { id: ids.get('fixed-2'), uid: 'someone-else' },
      ]),
    );
    expect(view).toMatchObject({ state: 'partial', sent: 21, failed: 1 });
    expect(view.failures).toEqual([
      expect.objectContaining({
        index: 21,
        code: 'invalid_argument',
        message: expect.stringMatching(/immutable/),
      }),
    ]);
    const after = (await stored()).users;
    expect(after.find((u) => u.uid === 'fixed-1')?.display_name).toBe('Renamed');
    expect(after.find((u) => u.id === ids.get('fixed-2'))?.uid).toBe('fixed-2');
    expect(after.filter((u) => u.uid?.startsWith('u70'))).toHaveLength(20);
  });
});
