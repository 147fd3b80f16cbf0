import { createLogger } from '@fsx/logger';
import { ExportStore } from '@fsx/pipeline';
import { closeQueues, createRedis, createStageQueues, waitUntilReady } from '@fsx/queues';
import { createSendQueue, SendStore } from '@fsx/sends';
import { useTestRedis } from '@fsx/testing';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApp, type IntakeDeps } from './index.js';

const redis = useTestRedis();
let app: FastifyInstance;
let deps: IntakeDeps;
let store: SendStore;

beforeAll(async () => {
  const connection = createRedis(redis.url, 'producer');
  await waitUntilReady(connection);
  store = new SendStore(connection, redis.prefix);
  deps = {
    redis: connection,
    store: new ExportStore(connection, redis.prefix),
    queues: createStageQueues(connection, redis.prefix, { onError: () => {} }),
    logger: createLogger({ name: 'intake-test', level: 'silent', pretty: false }),
    credentials: ['default'],
    defaultSink: 'duckdb',
    sinks: ['duckdb'],
    publicUrl: 'http://fsx.test',
    apiTokens: [],
    prefix: redis.prefix,
    rateLimitPerMinute: 10_000,
    checkResponses: true,
    maxSpanDays: 92,
    sends: { store, queue: createSendQueue(connection, redis.prefix), gatherMs: 0 },
  };
  app = await createApp(deps);
});
afterAll(async () => {
  await app.close();
  await deps.sends?.queue.close();
  await closeQueues(deps.queues);
  deps.redis.disconnect();
});

const post = (url: string, payload: unknown, headers: Record<string, string> = {}) =>
  app.inject({ method: 'POST', url, payload: payload as object, headers });

describe('POST /v1/users and /v1/events', () => {
  it('queues one item or an array atomically and answers 202 with where to follow it', async () => {
    const response = await post('/v1/users', [
      { uid: 'a', email: 'a@example.com', properties: { plan: 'free' } },
      { uid: 'b', schema: { properties: { seats: 'int' } }, properties: { seats: 2 } },
    ]);
    expect(response.statusCode).toBe(202);
    const body = response.json();
    expect(body).toMatchObject({ kind: 'users', items: 2 });
    expect(response.headers.location).toBe(`http://fsx.test/v1/sends/${body.id}`);
    expect(await store.pendingCount('default', 'users')).toBe(2);
    const flushes = (await deps.sends?.queue.getJobs(['delayed', 'waiting'])) ?? [];
    expect(flushes.map((j) => j.data)).toContainEqual({
      type: 'flush',
      window: expect.any(Number),
      credential: 'default',
      kind: 'users',
    });
    const view = await app.inject(`/v1/sends/${body.id}`);
    expect(view.json()).toMatchObject({
      state: 'queued',
      items: 2,
      sent: 0,
      failed: 0,
      pending: 2,
    });

    const single = await post('/v1/events', { name: 'Signed Up', user: { uid: 'a' } });
    expect(single.statusCode).toBe(202);
    expect(single.json().items).toBe(1);
  });

  it('refuses v1 type suffixes and broken items before queueing anything, naming each', async () => {
    const before = await store.pendingCount('default', 'users');
    const response = await post('/v1/users', [
      { uid: 'ok' },
      { uid: 'x', properties: { plan_str: 'free', nested: { total_real: 1 } } },
      { uid: '', unknownField: 1 },
    ]);
    expect(response.statusCode).toBe(400);
    const { issues } = response.json();
    expect(issues.map((i: { path: string }) => i.path)).toEqual(
      expect.arrayContaining(['1/properties', '2/uid', '2']),
    );
    expect(JSON.stringify(issues)).toMatch(/properties\.plan_str.*type suffix/);
    expect(JSON.stringify(issues)).toMatch(/properties\.nested\.total_real/);
    expect(await store.pendingCount('default', 'users')).toBe(before);
  });

  it('applies the v2 event rules', async () => {
    const cases = [
      {},
      { name: 'x', session: { id: '1:2' }, user: { uid: 'u' } },
      { name: 'x', session: { use_most_recent: true } },
      { name: 'x', timestamp: 'yesterday' },
      { name: 'x', schema: { properties: { n: 'float' } } },
    ];
    for (const item of cases) expect((await post('/v1/events', item)).statusCode).toBe(400);
    expect((await post('/v1/events', [])).statusCode).toBe(400);
    const tooMany = Array.from({ length: 1001 }, () => ({ name: 'x' }));
    expect((await post('/v1/events', tooMany)).statusCode).toBe(400);
  });

  it('honours Idempotency-Key: a retried request is the first send, queued once', async () => {
    const headers = { 'idempotency-key': 'send-42' };
    const first = await post('/v1/events', [{ name: 'Paid' }], headers);
    const before = await store.pendingCount('default', 'events');
    const again = await post('/v1/events', [{ name: 'Paid' }], headers);
    expect(again.statusCode).toBe(202);
    expect(again.json().id).toBe(first.json().id);
    expect(again.headers['idempotent-replayed']).toBe('true');
    expect(await store.pendingCount('default', 'events')).toBe(before);
    // The same items with their keys in another order are the same request.
    const reordered = await post('/v1/events', [{ properties: { n: 1 }, name: 'Paid' }], {
      'idempotency-key': 'send-43',
    });
    const sameAgain = await post('/v1/events', [{ name: 'Paid', properties: { n: 1 } }], {
      'idempotency-key': 'send-43',
    });
    expect(sameAgain.json().id).toBe(reordered.json().id);
    // Other items under a used key are refused, not answered with the first send.
    const other = await post('/v1/events', [{ name: 'Refunded' }], headers);
    expect(other.statusCode).toBe(422);
    expect(other.json()).toMatchObject({ error: 'idempotency_key_reused' });
    expect(other.json().message).toContain(first.json().id);
    expect(await store.pendingCount('default', 'events')).toBe(before + 1);
  });

  it('refuses an unknown credential and says 404 for an unknown send', async () => {
    const response = await post('/v1/users?credential=nope', { uid: 'a' });
    expect(response.statusCode).toBe(400);
    expect(response.json().issues[0].path).toBe('credential');
    const missing = await app.inject('/v1/sends/7b0e0f0e-0000-4000-8000-000000000000');
    expect(missing.statusCode).toBe(404);
    expect((await app.inject('/v1/sends/not-an-id')).statusCode).toBe(400);
  });

  it('lists sends newest first, by kind and state, a page at a time, without expired ones', async () => {
    const ids: string[] = [];
    for (const uid of ['l1', 'l2', 'l3']) ids.push((await post('/v1/users', { uid })).json().id);
    const eventId = (await post('/v1/events', { name: 'Listed', user: { uid: 'l1' } })).json().id;
    // One user send finishes with a failure: it lists as failed.
    await store.recordOutcomes([
      { ref: { sendId: ids[0] as string, index: 0 }, failure: { code: 'x', message: 'no' } },
    ]);

    const first = (await app.inject('/v1/sends?kind=users&limit=2')).json();
    expect(first.items.map((s: { id: string }) => s.id)).toEqual([ids[2], ids[1]]);
    expect(first.items[0]).toMatchObject({
      kind: 'users',
      state: 'queued',
      items: 1,
      pending: 1,
      links: { self: `http://fsx.test/v1/sends/${ids[2]}` },
    });
    expect(first.items[0].failures).toBeUndefined();
    const second = (
      await app.inject(`/v1/sends?kind=users&limit=2&cursor=${first.nextCursor}`)
    ).json();
    expect(second.items.map((s: { id: string }) => s.id)).toContain(ids[0]);
    expect(second.items.map((s: { kind: string }) => s.kind)).not.toContain('events');

    const failed = (await app.inject('/v1/sends?state=failed&limit=100')).json();
    expect(failed.items.map((s: { id: string }) => s.id)).toEqual([ids[0]]);
    expect(failed.nextCursor).toBeUndefined();
    const all = (await app.inject('/v1/sends?limit=1')).json();
    expect(all.items.map((s: { id: string }) => s.id)).toEqual([eventId]);

    // A finished send's record expires; the listing skips it and forgets it.
    const keys = await deps.redis.keys(`${redis.prefix}:sendrec:${ids[1]}*`);
    await deps.redis.del(...keys);
    const after = (await app.inject('/v1/sends?kind=users&limit=100')).json();
    expect(after.items.map((s: { id: string }) => s.id)).not.toContain(ids[1]);
    expect(await deps.redis.zscore(`${redis.prefix}:sendrec-index`, ids[1] as string)).toBeNull();
    expect((await app.inject('/v1/sends?state=nope')).statusCode).toBe(400);
  });

  it('pages on past a send that expired on the page before, skipping none', async () => {
    const ids: string[] = [];
    for (const uid of ['p0', 'p1', 'p2', 'p3'])
      ids.push((await post('/v1/users', { uid })).json().id);
    await post('/v1/events', { name: 'Paged', user: { uid: 'p0' } });
    await deps.redis.del(...(await deps.redis.keys(`${redis.prefix}:sendrec:${ids[2]}*`)));
    const first = (await app.inject('/v1/sends?kind=users&limit=2')).json();
    expect(first.items.map((s: { id: string }) => s.id)).toEqual([ids[3], ids[1]]);
    const second = (
      await app.inject(`/v1/sends?kind=users&limit=1&cursor=${first.nextCursor}`)
    ).json();
    expect(second.items.map((s: { id: string }) => s.id)).toEqual([ids[0]]);
  });

  it('documents the send routes in OpenAPI and shows the send queue on Bull Board', async () => {
    const spec = (await app.inject({ url: '/docs/json' })).json();
    for (const route of ['/v1/users', '/v1/events'])
      expect(spec.paths[route].post.requestBody.content['application/json'].schema).toBeDefined();
    expect(spec.paths['/v1/sends/{id}'].get).toBeDefined();
    expect(spec.paths['/v1/sends'].get).toBeDefined();
    const board = (await app.inject({ url: '/admin/queues/api/queues' })).json();
    expect(board.queues.map((q: { name: string }) => q.name)).toContain('send');
  });
});
