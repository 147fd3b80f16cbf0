import { createLogger } from '@fsx/logger';
import { ExportStore } from '@fsx/pipeline';
import { closeQueues, createRedis, createStageQueues, STAGES, waitUntilReady } from '@fsx/queues';
import { useTestRedis } from '@fsx/testing';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApp, type IntakeDeps } from './index.js';

const redis = useTestRedis();
const logger = createLogger({ name: 'intake-test', level: 'silent', pretty: false });

function depsFor(url: string, prefix: string, overrides: Partial<IntakeDeps> = {}): IntakeDeps {
  const connection = createRedis(url, 'producer');
  connection.on('error', () => {});
  return {
    redis: connection,
    store: new ExportStore(connection, prefix),
    queues: createStageQueues(connection, prefix, { onError: () => {} }),
    logger,
    credentials: ['default', 'acme'],
    defaultSink: 'duckdb',
    sinks: ['duckdb'],
    publicUrl: 'http://fsx.test',
    apiTokens: [],
    prefix,
    rateLimitPerMinute: 10_000,
    checkResponses: true,
    maxSpanDays: 92,
    ...overrides,
  };
}

let app: FastifyInstance;
let deps: IntakeDeps;
beforeAll(async () => {
  deps = depsFor(redis.url, redis.prefix);
  await waitUntilReady(deps.redis);
  app = await createApp(deps);
});
afterAll(async () => {
  await app.close();
  await closeQueues(deps.queues);
  deps.redis.disconnect();
});

const valid = {
  segmentId: 'everyone',
  type: 'events',
  format: 'ndjson',
  timeRange: { start: '2026-11-01T00:00:00Z', end: '2026-11-02T00:00:00Z' },
};
const post = (body: unknown, headers: Record<string, string> = {}) =>
  app.inject({ method: 'POST', url: '/v1/exports', payload: body as object, headers });
const jobCount = async () =>
  (await deps.queues.create.getJobCounts('waiting', 'delayed', 'active')) as Record<string, number>;
const totalJobs = async () => Object.values(await jobCount()).reduce((a, b) => a + b, 0);

describe('POST /v1/exports', () => {
  it('records and enqueues an export, answering 202 with its id and links', async () => {
    const response = await post(valid);
    expect(response.statusCode).toBe(202);
    const body = response.json();
    expect(body).toEqual({
      id: expect.any(String),
      status: 'queued',
      links: { self: `http://fsx.test/v1/exports/${body.id}` },
    });
    expect(response.headers.location).toBe(body.links.self);
    const job = await deps.queues.create.getJob(`${body.id}.create.0`);
    expect(job?.data).toEqual({ exportId: body.id, step: 0 });
  });

  it("accepts FullStory's spellings and defaults the format to json", async () => {
    const response = await post({
      segmentId: 'everyone',
      type: 'TYPE_INDIVIDUAL',
      credential: 'acme',
    });
    expect(response.statusCode).toBe(202);
    const record = await deps.store.get(response.json().id);
    expect(record).toMatchObject({
      spec: { type: 'individuals', format: 'json' },
      credential: 'acme',
      sink: 'duckdb',
    });
    const csv = await post({ ...valid, type: 'TYPE_EVENT', format: 'FORMAT_CSV' });
    expect((await deps.store.get(csv.json().id))?.spec).toMatchObject({
      type: 'events',
      format: 'csv',
    });
  });

  it('answers 400 with every field problem and enqueues nothing', async () => {
    const before = await totalJobs();
    const response = await post({
      type: 'pages',
      format: 'xml',
      timeRange: { start: '2026-11-02T00:00:00Z', end: '2026-11-01T00:00:00Z' },
      segmentTimeRange: { start: 'yesterday' },
      surprise: true,
    });
    expect(response.statusCode).toBe(400);
    const body = response.json();
    expect(body.error).toBe('invalid_request');
    const paths = body.issues.map((i: { path: string }) => i.path);
    expect(paths).toEqual(
      expect.arrayContaining([
        'segmentId',
        'type',
        'format',
        'timeRange/start',
        'segmentTimeRange/start',
      ]),
    );
    expect(body.message).toMatch(/surprise/);
    expect(await totalJobs()).toBe(before);
  });

  it('refuses an unconfigured credential or sink, and a body that is not JSON', async () => {
    const credential = await post({ ...valid, credential: 'nobody' });
    expect(credential.statusCode).toBe(400);
    expect(credential.json().issues).toEqual([
      { path: 'credential', message: 'must be one of: default, acme' },
    ]);
    expect((await post({ ...valid, sink: 'postgres' })).statusCode).toBe(400);
    const garbage = await app.inject({
      method: 'POST',
      url: '/v1/exports',
      payload: '{nope',
      headers: { 'content-type': 'application/json' },
    });
    expect(garbage.statusCode).toBe(400);
    expect(garbage.json()).toMatchObject({ error: 'invalid_request' });
    const nowhere = await app.inject({ method: 'GET', url: '/v1/nowhere?x=1' });
    expect(nowhere.statusCode).toBe(404);
    expect(nowhere.json()).toEqual({
      error: 'not_found',
      message: 'no route GET /v1/nowhere; the API is described at /docs',
    });
  });

  it('returns the same export for a repeated Idempotency-Key, and enqueues one job', async () => {
    const before = await totalJobs();
    const first = await post(valid, { 'idempotency-key': 'retry-me' });
    const second = await post(valid, { 'idempotency-key': 'retry-me' });
    expect(second.json().id).toBe(first.json().id);
    expect(second.headers['idempotent-replayed']).toBe('true');
    expect(first.headers['idempotent-replayed']).toBe('false');
    expect(await totalJobs()).toBe(before + 1);
  });

  it('refuses a used Idempotency-Key with a different request instead of answering the first', async () => {
    const headers = { 'idempotency-key': 'nightly-1' };
    const first = await post(valid, headers);
    const reordered = Object.fromEntries(Object.entries(valid).reverse());
    expect((await post(reordered, headers)).json().id).toBe(first.json().id);
    const before = await totalJobs();
    for (const other of [
      { ...valid, format: 'csv' },
      { ...valid, segmentId: 'seg001Xq9' },
      { ...valid, timeRange: { ...valid.timeRange, start: '2026-10-31T00:00:00Z' } },
    ]) {
      const response = await post(other, headers);
      expect(response.statusCode).toBe(422);
      expect(response.json()).toMatchObject({ error: 'idempotency_key_reused' });
      expect(response.json().message).toContain(first.json().id);
    }
    // The same key for another credential is another key.
    expect((await post({ ...valid, format: 'csv', credential: 'acme' }, headers)).statusCode).toBe(
      202,
    );
    expect(await totalJobs()).toBe(before + 1);
  });
});

describe('completion callbacks', () => {
  it('are refused when the server has no signing secret, and must be https off loopback', async () => {
    const off = await post({ ...valid, callbackUrl: 'https://hooks.example.com/fsx' });
    expect(off.statusCode).toBe(400);
    expect(off.json().issues).toEqual([
      { path: 'callbackUrl', message: 'not accepted by this server' },
    ]);
    const plain = await post({ ...valid, callbackUrl: 'http://hooks.example.com/fsx' });
    expect(plain.json().issues).toEqual([
      { path: 'callbackUrl', message: 'must be https (http only on loopback)' },
    ]);
  });
});

describe('reading and cancelling exports', () => {
  it('shows one export without secrets, and 404s an unknown one', async () => {
    const { id } = (await post(valid)).json();
    await deps.store.update(id, {
      download: { location: 'https://storage.test/signed?sig=secret' },
      stagedFile: '/tmp/x',
    });
    const response = await app.inject({ url: `/v1/exports/${id}` });
    expect(response.json()).toMatchObject({
      id,
      state: 'queued',
      stage: 'create',
      progress: 0,
      spec: { segmentId: 'everyone' },
    });
    expect(response.body).not.toContain('secret');
    expect(response.body).not.toContain('stagedFile');
    expect(
      (await app.inject({ url: '/v1/exports/00000000-0000-4000-8000-000000000000' })).statusCode,
    ).toBe(404);
    expect((await app.inject({ url: '/v1/exports/not-a-uuid' })).statusCode).toBe(400);
  });

  it('lists exports newest first, filtered by state and paginated', async () => {
    const ids = [];
    for (let i = 0; i < 3; i++) ids.push((await post(valid)).json().id);
    await deps.store.update(ids[0], { state: 'failed' }, { force: true });
    const page = (await app.inject({ url: '/v1/exports?limit=2' })).json();
    expect(page.items.map((r: { id: string }) => r.id)).toEqual([ids[2], ids[1]]);
    const next = (
      await app.inject({ url: `/v1/exports?limit=2&cursor=${page.nextCursor}` })
    ).json();
    expect(next.items[0].id).toBe(ids[0]);
    const failed = (await app.inject({ url: '/v1/exports?state=failed' })).json();
    expect(failed.items.map((r: { id: string }) => r.id)).toEqual([ids[0]]);
    expect((await app.inject({ url: '/v1/exports?state=lost' })).statusCode).toBe(400);
  });

  it('cancels: the record says cancelled and its queued job is gone', async () => {
    const { id } = (await post(valid)).json();
    const response = await app.inject({ method: 'DELETE', url: `/v1/exports/${id}` });
    expect(response.statusCode).toBe(200);
    expect(response.json().state).toBe('cancelled');
    expect(await deps.queues.create.getJob(`${id}.create.0`)).toBeUndefined();
    expect((await app.inject({ method: 'DELETE', url: `/v1/exports/${id}` })).statusCode).toBe(200);
    const { id: doneId } = (await post(valid)).json();
    await deps.store.update(doneId, { state: 'completed' }, { force: true });
    expect((await app.inject({ method: 'DELETE', url: `/v1/exports/${doneId}` })).statusCode).toBe(
      409,
    );
  });
});

describe('operations endpoints', () => {
  it('reports health and readiness', async () => {
    expect((await app.inject({ url: '/health' })).json()).toEqual({ ok: true, redis: 'up' });
    expect((await app.inject({ url: '/ready' })).json()).toEqual({ ready: true });
  });

  it('serves Bull Board with the five stage queues', async () => {
    const page = await app.inject({ url: '/admin/queues' });
    expect(page.statusCode).toBe(200);
    expect(page.headers['content-type']).toMatch(/html/);
    const api = (await app.inject({ url: '/admin/queues/api/queues' })).json();
    expect(api.queues.map((q: { name: string }) => q.name).sort()).toEqual([...STAGES].sort());
  });

  it('serves OpenAPI docs generated from the zod schemas', async () => {
    const spec = (await app.inject({ url: '/docs/json' })).json();
    expect(spec.openapi).toMatch(/^3\./);
    expect(
      spec.paths['/v1/exports'].post.requestBody.content['application/json'].schema.properties
        .segmentId,
    ).toBeDefined();
    // What each route answers is documented too, and checked: these tests run with
    // checkResponses, so a response that strays from its schema fails them.
    const created = spec.paths['/v1/exports'].post.responses;
    expect(Object.keys(created).sort()).toEqual(
      ['202', '400', '401', '413', '415', '422', '429', '503'].sort(),
    );
    expect(
      Object.keys(created['202'].content['application/json'].schema.properties).sort(),
    ).toEqual(['id', 'links', 'status']);
    expect(created['400'].content['application/json'].schema.required).toEqual([
      'error',
      'message',
    ]);
    // Every route says what it answers on success, and with which body.
    const operations = Object.entries(
      spec.paths as Record<
        string,
        Record<string, { responses: Record<string, { content?: unknown }> }>
      >,
    ).flatMap(([route, methods]) =>
      Object.entries(methods).map(([method, op]) => [`${method} ${route}`, op.responses] as const),
    );
    expect(operations.length).toBeGreaterThanOrEqual(14);
    for (const [operation, responses] of operations) {
      const success = Object.entries(responses).filter(([status]) => status.startsWith('2'));
      expect(
        success.map(([, r]) => r.content !== undefined),
        operation,
      ).toEqual([true]);
    }
    expect((await app.inject({ url: '/docs' })).statusCode).toBeLessThan(400);
  });

  it('answers 503 when Redis is unreachable, for writes and health alike', async () => {
    const downDeps = depsFor('redis://127.0.0.1:1', '{down}');
    const down = await createApp(downDeps);
    await new Promise((r) => setTimeout(r, 100));
    const response = await down.inject({ method: 'POST', url: '/v1/exports', payload: valid });
    expect(response.statusCode).toBe(503);
    expect(response.json().error).toBe('unavailable');
    expect((await down.inject({ url: '/health' })).statusCode).toBe(503);
    await down.close();
    downDeps.redis.disconnect();
  });
});
