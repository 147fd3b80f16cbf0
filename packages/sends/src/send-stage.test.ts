import { describe, expect, it } from 'vitest';
import { enqueueBatch } from './queue.js';
import { startSendStage } from './send-test-helpers.js';

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
    const { submit, finished, stored, queue, deps } = await startSendStage({
      settings: { gatherMs: 300 },
    });
    const id = await submit('users', users(50, 5000));
    // Take the items into a batch ourselves, then hand the same batch to two jobs at once.
    await deps.store.takeBatch(`${id}.0`, {
      credential: 'default',
      kind: 'users',
      max: 500,
      importThreshold: 10,
    });
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
