import { afterAll, describe, expect, it } from 'vitest';
import { createSimulator, type Simulator, type SimulatorOptions } from './index.js';
import { ADMIN, call, STANDARD } from './sim-test-helpers.js';

const sims: Simulator[] = [];
async function start(options: SimulatorOptions = {}) {
  const sim = createSimulator({ batchMs: { base: 0, perItem: 0 }, ...options });
  sims.push(sim);
  return { sim, base: await sim.listen() };
}
afterAll(async () => {
  await Promise.all(sims.map((s) => s.close()));
});

async function stored(base: string, key = ADMIN) {
  const dump = await call(base, 'GET', '/__sim/server', { key: null });
  return dump.json[key] as { users: any[]; events: any[] };
}

describe('v2 users', () => {
  it('upserts by uid, merges properties (latest wins) and returns a stable FullStory id', async () => {
    const { base } = await start();
    const first = await call(base, 'POST', '/v2/users', {
      key: STANDARD,
      body: { uid: 'u1', display_name: 'Daniel', properties: { plan: 'free', seats: 1 } },
    });
    expect(first.status).toBe(200);
    expect(first.json.id).toMatch(/^\d+$/);
    const second = await call(base, 'POST', '/v2/users', {
      key: STANDARD,
      body: { uid: 'u1', email: 'd@example.com', properties: { plan: 'paid', spent: 14.55 } },
    });
    expect(second.json.id).toBe(first.json.id);
    const user = await call(base, 'GET', `/v2/users/${first.json.id}`, { key: STANDARD });
    expect(user.json).toMatchObject({
      uid: 'u1',
      display_name: 'Daniel',
      email: 'd@example.com',
      properties: { plan: 'paid', seats: 1, spent: 14.55 },
    });
    const byUid = await call(base, 'GET', '/v2/users?uid=u1', { key: STANDARD });
    expect(byUid.json.total_records).toBe('1');
  });

  it('refuses type suffixes and values that contradict a declared schema', async () => {
    const { base } = await start();
    const suffixed = await call(base, 'POST', '/v2/users', {
      body: { uid: 'u1', properties: { pricingPlan_str: 'free', nested: { total_real: 1 } } },
    });
    expect(suffixed.status).toBe(400);
    expect(suffixed.json.code).toBe('invalid_argument');
    expect(suffixed.json.details.map((d: any) => d.field)).toEqual([
      'properties.pricingPlan_str',
      'properties.nested.total_real',
    ]);
    const mistyped = await call(base, 'POST', '/v2/users', {
      body: { uid: 'u1', properties: { seats: 'two' }, schema: { properties: { seats: 'int' } } },
    });
    expect(mistyped.status).toBe(400);
    expect(mistyped.json.details).toEqual([
      { field: 'properties.seats', description: 'is not a int' },
    ]);
    expect((await stored(base))?.users ?? []).toHaveLength(0);
  });

  it('keeps a uid immutable once set', async () => {
    const { base } = await start();
    const anon = await call(base, 'POST', '/v2/users', { body: { display_name: 'anon' } });
    const id = anon.json.id;
    expect((await call(base, 'POST', `/v2/users/${id}`, { body: { uid: 'a' } })).status).toBe(200);
    const changed = await call(base, 'POST', `/v2/users/${id}`, { body: { uid: 'b' } });
    expect(changed.status).toBe(400);
    expect(changed.json.message).toMatch(/immutable/);
    expect((await call(base, 'GET', `/v2/users/${id}`)).json.uid).toBe('a');
    expect((await call(base, 'POST', '/v2/users/404', { body: {} })).status).toBe(404);
  });

  it('answers a repeated Idempotency-Key with the first answer and acts once', async () => {
    const { base } = await start();
    const headers = { 'idempotency-key': 'k1' };
    const body = { name: 'Signed Up', user: { uid: 'u9' }, properties: { n: 1 } };
    const a = await call(base, 'POST', '/v2/events', { body, headers });
    const b = await call(base, 'POST', '/v2/events', { body, headers });
    expect([a.status, b.status]).toEqual([200, 200]);
    expect((await stored(base)).events).toHaveLength(1);
    const other = await call(base, 'POST', '/v2/events', { body: { ...body, name: 'x' }, headers });
    expect(other.status).toBe(400);
  });
});

describe('v2 events', () => {
  it('ties events to users and applies the session rules', async () => {
    const { base } = await start();
    expect((await call(base, 'POST', '/v2/events', { body: {} })).json.code).toBe('required_field');
    const bad = await call(base, 'POST', '/v2/events', {
      body: { name: 'x', session: { id: '1:2' }, user: { uid: 'u' } },
    });
    expect(bad.status).toBe(400);
    const mostRecent = await call(base, 'POST', '/v2/events', {
      body: { name: 'x', session: { use_most_recent: true } },
    });
    expect(mostRecent.status).toBe(400);
    const unknownId = await call(base, 'POST', '/v2/events', {
      body: { name: 'x', user: { id: '123' } },
    });
    expect(unknownId.status).toBe(404);
    const good = await call(base, 'POST', '/v2/events', {
      body: { name: 'Purchased', timestamp: '2026-11-01T00:00:00Z', user: { uid: 'buyer' } },
    });
    expect(good.status).toBe(200);
    const { users, events } = await stored(base);
    expect(events).toHaveLength(1);
    expect(events[0].userId).toBe(users.find((u) => u.uid === 'buyer').id);
  });
});

describe('batch imports', () => {
  it('processes a batch over time, then lists its imports and the requests that failed', async () => {
    const { base } = await start({ batchMs: { base: 300, perItem: 0 } });
    const requests = [
      { uid: 'b1', properties: { a: 1 } },
      { uid: 'b2', properties: { bad_str: 'x' } },
      { uid: 'b3' },
    ];
    const created = await call(base, 'POST', '/v2/users/batch', { body: { requests } });
    expect(created.status).toBe(200);
    const job = created.json.job;
    expect(job.status).toBe('PROCESSING');
    expect((await call(base, 'GET', `/v2/users/batch/${job.id}/errors`)).status).toBe(202);
    await new Promise((r) => setTimeout(r, 350));
    const status = await call(base, 'GET', `/v2/users/batch/${job.id}`);
    expect(status.json).toMatchObject({ imports: 2, errors: 1, job: { status: 'FAILED' } });
    const errors = await call(base, 'GET', `/v2/users/batch/${job.id}/errors`);
    expect(errors.json.results).toEqual([
      expect.objectContaining({ code: 'invalid_argument', user: requests[1] }),
    ]);
    const imports = await call(base, 'GET', `/v2/users/batch/${job.id}/imports?page_size=1`);
    expect(imports.json.results).toHaveLength(1);
    expect(imports.json.next_page_token).toBe('1');
    expect((await call(base, 'GET', `/v2/events/batch/${job.id}`)).status).toBe(404);
  });

  it('fails single requests of a batch with retryable errors when told to', async () => {
    const { sim, base } = await start();
    sim.injectFault('batch_item_error', 2, 'server');
    const requests = Array.from({ length: 5 }, (_, i) => ({ name: 'e', properties: { i } }));
    const created = await call(base, 'POST', '/v2/events/batch', { body: { requests } });
    const status = await call(base, 'GET', `/v2/events/batch/${created.json.job.id}`);
    expect(status.json).toMatchObject({ imports: 3, errors: 2, job: { status: 'FAILED' } });
    const errors = await call(base, 'GET', `/v2/events/batch/${created.json.job.id}/errors`);
    expect(errors.json.results.map((e: any) => e.code)).toEqual(['server_error', 'server_error']);
    expect((await stored(base)).events).toHaveLength(3);
  });
});

describe('server API quota', () => {
  it('has its own bucket, apart from the export APIs', async () => {
    const { base } = await start({
      quota: { burst: 1, perMinute: 1 },
      serverQuota: { burst: 3, perMinute: 1 },
    });
    expect((await call(base, 'GET', '/segments/v1')).status).toBe(200);
    expect((await call(base, 'GET', '/segments/v1')).status).toBe(429);
    const statuses = [];
    for (let i = 0; i < 4; i++)
      statuses.push((await call(base, 'POST', '/v2/users', { body: { uid: `q${i}` } })).status);
    expect(statuses).toEqual([200, 200, 200, 429]);
  });

  it('answers 429 with Retry-After when a rate_limited fault is injected', async () => {
    const { sim, base } = await start();
    sim.injectFault('rate_limited', 1, 'server');
    const limited = await call(base, 'POST', '/v2/users', { body: { uid: 'r' } });
    expect(limited.status).toBe(429);
    expect(limited.headers['retry-after']).toBe('1');
    expect((await call(base, 'POST', '/v2/users', { body: { uid: 'r' } })).status).toBe(200);
  });
});
