import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { type AddressInfo, createServer } from 'node:net';
import path from 'node:path';
import { createLogger } from '@fsx/logger';
import { createScheduleQueue, ExportStore, ScheduleStore } from '@fsx/pipeline';
import { closeQueues, createRedis, createStageQueues, waitUntilReady } from '@fsx/queues';
import { createSendQueue, SendStore } from '@fsx/sends';
import { useTestRedis } from '@fsx/testing';
import { createWebhookQueue, signFullStoryWebhook } from '@fsx/webhooks';
import fc from 'fast-check';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApp, type IntakeDeps } from './index.js';

const redis = useTestRedis();
const TOKEN = 'tok_0123456789abcdef0123';
const logger = createLogger({ name: 'hardening-test', level: 'silent', pretty: false });

async function appWith(overrides: Partial<IntakeDeps>, prefix = redis.prefix) {
  const connection = createRedis(redis.url, 'producer');
  await waitUntilReady(connection);
  const deps: IntakeDeps = {
    redis: connection,
    store: new ExportStore(connection, prefix),
    queues: createStageQueues(connection, prefix, { onError: () => {} }),
    logger,
    credentials: ['default'],
    defaultSink: 'duckdb',
    sinks: ['duckdb'],
    publicUrl: 'http://fsx.test',
    apiTokens: [TOKEN],
    prefix,
    rateLimitPerMinute: 100_000,
    checkResponses: true,
    maxSpanDays: 31,
    ...overrides,
  };
  const app = await createApp(deps);
  return {
    app,
    deps,
    close: async () => {
      await app.close();
      await closeQueues(deps.queues);
      connection.disconnect();
    },
  };
}

const yesterday = new Date(Date.now() - 86_400_000).toISOString().slice(0, 10);
const valid = {
  segmentId: 'everyone',
  type: 'events',
  timeRange: { start: `${yesterday}T00:00:00Z`, end: `${yesterday}T12:00:00Z` },
};
const bearer = { authorization: `Bearer ${TOKEN}` };

describe('intake auth', () => {
  let app: FastifyInstance;
  let close: () => Promise<unknown>;
  beforeAll(async () => ({ app, close } = await appWith({})));
  afterAll(() => close());

  it('requires a token everywhere but /health', async () => {
    expect((await app.inject({ url: '/health' })).statusCode).toBe(200);
    for (const url of [
      '/v1/exports',
      '/ready',
      '/docs/json',
      '/admin/queues',
      '/admin/queues/api/queues',
    ]) {
      const response = await app.inject({ url });
      expect(response.statusCode, url).toBe(401);
    }
    expect(
      (await app.inject({ method: 'POST', url: '/v1/exports', payload: valid })).statusCode,
    ).toBe(401);
    expect(
      (
        await app.inject({
          url: '/v1/exports',
          headers: { authorization: 'Bearer wrong-token-of-some-length' },
        })
      ).statusCode,
    ).toBe(401);
    expect((await app.inject({ url: '/v1/exports', headers: bearer })).statusCode).toBe(200);
  });

  it('lets a browser into Bull Board with Basic auth, the token as password', async () => {
    const challenge = await app.inject({ url: '/admin/queues' });
    expect(challenge.headers['www-authenticate']).toMatch(/^Basic/);
    const basic = `Basic ${Buffer.from(`admin:${TOKEN}`).toString('base64')}`;
    expect(
      (await app.inject({ url: '/admin/queues', headers: { authorization: basic } })).statusCode,
    ).toBe(200);
  });
});

describe('intake input limits', () => {
  let app: FastifyInstance;
  let close: () => Promise<unknown>;
  beforeAll(async () => ({ app, close } = await appWith({ apiTokens: [] })));
  afterAll(() => close());

  it('refuses time ranges in the future or longer than the maximum span', async () => {
    const future = new Date(Date.now() + 3 * 86_400_000).toISOString().replace(/\.\d+Z$/, 'Z');
    const tooLong = await app.inject({
      method: 'POST',
      url: '/v1/exports',
      payload: {
        ...valid,
        timeRange: { start: '2026-01-01T00:00:00Z', end: '2026-03-01T00:00:00Z' },
      },
    });
    expect(tooLong.statusCode).toBe(400);
    expect(tooLong.json().issues).toEqual([
      { path: 'timeRange', message: 'must span at most 31 days' },
    ]);
    const ahead = await app.inject({
      method: 'POST',
      url: '/v1/exports',
      payload: { ...valid, timeRange: { start: future } },
    });
    expect(ahead.json().issues).toEqual([
      { path: 'timeRange/start', message: 'must not be in the future' },
    ]);
  });

  it('refuses a body over 64 KiB', async () => {
    const response = await app.inject({
      method: 'POST',
      url: '/v1/exports',
      payload: { ...valid, segmentId: 'x'.repeat(70_000) },
    });
    expect(response.statusCode).toBe(413);
    expect(response.json()).toEqual({
      error: 'payload_too_large',
      message: "the request body is over this route's 65536 bytes",
    });
  });

  it('refuses a body that is not JSON with 415, saying what to send', async () => {
    const response = await app.inject({
      method: 'POST',
      url: '/v1/exports',
      headers: { ...bearer, 'content-type': 'application/x-www-form-urlencoded' },
      payload: 'segmentId=everyone',
    });
    expect(response.statusCode).toBe(415);
    expect(response.json()).toEqual({
      error: 'unsupported_media_type',
      message:
        'a body of type application/x-www-form-urlencoded is not accepted here; send application/json',
    });
  });
});

describe('intake rate limiting', () => {
  it('limits each client per minute, in Redis, so every intake replica shares the count', async () => {
    const prefix = `${redis.prefix}-rl`;
    const first = await appWith({ rateLimitPerMinute: 3 }, prefix);
    const second = await appWith({ rateLimitPerMinute: 3 }, prefix);
    const statuses = [];
    for (const app of [first.app, second.app, first.app, second.app]) {
      statuses.push((await app.inject({ url: '/v1/exports', headers: bearer })).statusCode);
    }
    expect(statuses).toEqual([200, 200, 200, 429]);
    const refused = await first.app.inject({ url: '/v1/exports', headers: bearer });
    expect(refused.json()).toEqual({
      error: 'rate_limited',
      message: expect.stringMatching(/^Rate limit exceeded, retry in/),
    });
    expect(refused.headers['retry-after']).toBeDefined();
    expect((await first.app.inject({ url: '/health' })).statusCode).toBe(200);
    await first.close();
    await second.close();
  });
});

describe('intake fuzzing', () => {
  let app: FastifyInstance;
  let deps: IntakeDeps;
  let close: () => Promise<unknown>;
  beforeAll(async () => {
    const prefix = `${redis.prefix}-fuzz`;
    const connection = redis.connect({ maxRetriesPerRequest: null });
    ({ app, deps, close } = await appWith(
      {
        apiTokens: [],
        // Every endpoint takes part: schedules and webhooks too.
        schedules: {
          store: new ScheduleStore(connection, prefix),
          queue: createScheduleQueue(connection, prefix),
        },
        webhooks: {
          secret: 'fuzz-secret-0123456789',
          replayWindowSeconds: 300,
          queue: createWebhookQueue(connection, prefix),
        },
        sends: {
          store: new SendStore(connection, prefix),
          queue: createSendQueue(connection, prefix),
          gatherMs: 1_000,
        },
      },
      prefix,
    ));
  });
  afterAll(() => close());

  const jobs = async () => {
    const counts = await deps.queues.create.getJobCounts(
      'waiting',
      'delayed',
      'active',
      'completed',
      'failed',
    );
    return Object.values(counts).reduce((a, b) => a + b, 0);
  };
  const field = fc.oneof(
    fc.string(),
    fc.constantFrom(
      'events',
      'individuals',
      'TYPE_EVENT',
      'json',
      'csv',
      'FORMAT_NDJSON',
      'everyone',
      '2026-11-01T00:00:00Z',
      '',
    ),
    fc.integer(),
    fc.double(),
    fc.boolean(),
    fc.constant(null),
    fc.array(fc.string(), { maxLength: 3 }),
  );
  const body = fc.oneof(
    fc.record(
      {
        segmentId: field,
        type: field,
        format: field,
        timeRange: fc.oneof(field, fc.record({ start: field, end: field }, { requiredKeys: [] })),
        credential: field,
        sink: field,
        extra: field,
      },
      { requiredKeys: [] },
    ),
    fc.jsonValue(),
  );

  const name = fc.oneof(fc.string({ maxLength: 12 }), fc.constantFrom('plan_str', 'n_ints', 'ok'));
  const item = fc.oneof(
    fc.record(
      {
        uid: fc.oneof(fc.string({ maxLength: 8 }), fc.integer()),
        name: fc.oneof(fc.string({ maxLength: 8 }), fc.constant('Signed Up')),
        properties: fc.dictionary(name, fc.jsonValue({ maxDepth: 2 }), { maxKeys: 3 }),
        user: fc.oneof(fc.record({ uid: fc.string() }), fc.record({ id: fc.jsonValue() })),
        session: fc.oneof(
          fc.record({ id: fc.string() }),
          fc.record({ use_most_recent: fc.boolean() }),
        ),
        timestamp: fc.oneof(fc.string({ maxLength: 30 }), fc.constant('2026-11-01T00:00:00Z')),
      },
      { requiredKeys: [] },
    ),
    fc.jsonValue({ maxDepth: 3 }),
    // Well-formed ones too, so the accepting side is reached often.
    fc.record({ uid: fc.string({ minLength: 1, maxLength: 8 }) }),
    fc.record({ name: fc.string({ minLength: 1, maxLength: 8 }) }),
  );

  it('never answers 5xx, and whatever it accepts it can account for item by item', async () => {
    let accepted = 0;
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom('users', 'events'),
        fc.oneof(item, fc.array(item, { maxLength: 4 })),
        async (kind, payload) => {
          const response = await app.inject({
            method: 'POST',
            url: `/v1/${kind}`,
            payload: JSON.stringify(payload),
            headers: { 'content-type': 'application/json' },
          });
          expect(response.statusCode).toBeLessThan(500);
          if (response.statusCode !== 202) {
            expect(response.statusCode).toBe(400);
            return;
          }
          accepted += 1;
          const view = await app.inject(`/v1/sends/${response.json().id}`);
          expect(view.json().items).toBe(Array.isArray(payload) ? payload.length : 1);
          expect(view.json().pending).toBe(view.json().items);
        },
      ),
      { numRuns: 1_000 },
    );
    // The generator must reach the accepting side too, or the property says little.
    expect(accepted).toBeGreaterThan(10);
  }, 120_000);

  it('never answers 5xx and never enqueues for an invalid request, over thousands of bodies', async () => {
    await fc.assert(
      fc.asyncProperty(
        body,
        fc.option(fc.string({ maxLength: 300 })),
        async (payload, idempotencyKey) => {
          const before = await jobs();
          const response = await app.inject({
            method: 'POST',
            url: '/v1/exports',
            payload: JSON.stringify(payload),
            headers: {
              'content-type': 'application/json',
              ...(idempotencyKey ? { 'idempotency-key': idempotencyKey } : {}),
            },
          });
          expect(response.statusCode).toBeLessThan(500);
          const after = await jobs();
          if (response.statusCode !== 202) expect(after).toBe(before);
        },
      ),
      { numRuns: 2000 },
    );
  }, 120_000);

  it('never answers 5xx for random paths, ids, methods and raw bodies', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom('GET', 'POST', 'DELETE', 'PUT', 'PATCH'),
        fc.oneof(fc.string(), fc.uuid(), fc.webPath()),
        fc.string({ maxLength: 500 }),
        fc.constantFrom('application/json', 'text/plain', 'application/x-www-form-urlencoded'),
        async (method, id, raw, contentType) => {
          const url = `/v1/exports/${encodeURIComponent(id)}`;
          const response = await app.inject({
            method,
            url,
            payload: raw,
            headers: { 'content-type': contentType },
          });
          expect(response.statusCode).toBeLessThan(500);
          const list = await app.inject({
            url: `/v1/exports?state=${encodeURIComponent(id)}&limit=${encodeURIComponent(raw.slice(0, 5))}`,
          });
          expect(list.statusCode).toBeLessThan(500);
        },
      ),
      { numRuns: 1000 },
    );
  }, 120_000);

  it('answers schedules and webhooks in the shapes its API documents', async () => {
    // checkResponses is on: a body that strays from the route's schema would be a 500.
    const created = await app.inject({
      method: 'POST',
      url: '/v1/schedules',
      payload: { segmentId: 'everyone', type: 'events', format: 'ndjson', every: '1h' },
    });
    expect(created.statusCode).toBe(201);
    const { id } = created.json();
    expect((await app.inject({ url: `/v1/schedules/${id}` })).json()).toMatchObject({
      id,
      everyMs: 3_600_000,
    });
    expect(
      (await app.inject({ url: '/v1/schedules' })).json().items.map((s: { id: string }) => s.id),
    ).toContain(id);
    expect((await app.inject({ method: 'DELETE', url: `/v1/schedules/${id}` })).json()).toEqual({
      deleted: true,
    });

    const body = JSON.stringify({ eventName: 'note.created', data: { id: 'n1' } });
    const webhook = await app.inject({
      method: 'POST',
      url: '/v1/webhooks/fullstory',
      payload: body,
      headers: {
        'content-type': 'application/json',
        'fullstory-signature': signFullStoryWebhook(
          body,
          'fuzz-secret-0123456789',
          'o-1',
          Math.floor(Date.now() / 1000),
        ),
      },
    });
    expect(webhook.json()).toEqual({ received: true, duplicate: false });
  });

  it('never answers 5xx for random schedule bodies and webhook deliveries, and queues no unsigned webhook', async () => {
    const webhookJobs = async () =>
      Object.values(await deps.webhooks!.queue.getJobCounts()).reduce((a, b) => a + b, 0);
    const before = await webhookJobs();
    await fc.assert(
      fc.asyncProperty(
        fc.jsonValue(),
        fc.string({ maxLength: 200 }),
        fc.option(fc.string({ maxLength: 120 })),
        async (payload, raw, signature) => {
          const schedule = await app.inject({
            method: 'POST',
            url: '/v1/schedules',
            payload: JSON.stringify(payload),
            headers: { 'content-type': 'application/json' },
          });
          expect(schedule.statusCode).toBeLessThan(500);
          const webhook = await app.inject({
            method: 'POST',
            url: '/v1/webhooks/fullstory',
            payload: raw,
            headers: {
              'content-type': 'application/json',
              ...(signature ? { 'fullstory-signature': signature } : {}),
            },
          });
          expect(webhook.statusCode).toBeLessThan(500);
          expect(webhook.statusCode).not.toBe(200);
        },
      ),
      { numRuns: 500 },
    );
    expect(await webhookJobs()).toBe(before);
  }, 120_000);
});

describe('intake main', () => {
  /** Runs the intake's main until it exits (or is stopped), and returns its exit code and output. */
  const runMain = async (env: Record<string, string>, stopAfterMs?: number) => {
    const child = spawn(
      process.execPath,
      ['--import', 'tsx', path.join(import.meta.dirname, 'main.ts')],
      { env: { ...process.env, REDIS_URL: redis.url, ...env }, stdio: ['ignore', 'pipe', 'pipe'] },
    );
    let output = '';
    child.stdout.on('data', (d) => (output += d));
    child.stderr.on('data', (d) => (output += d));
    const stop = stopAfterMs ? setTimeout(() => child.kill('SIGTERM'), stopAfterMs) : undefined;
    const [code] = await once(child, 'exit');
    clearTimeout(stop);
    return { code, output };
  };

  it('refuses to listen off loopback without a token', async () => {
    const { code, output } = await runMain({ HOST: '0.0.0.0', PORT: '0', INTAKE_API_TOKENS: '' });
    expect(code).toBe(1);
    expect(output).toContain('Refusing to listen on 0.0.0.0 without INTAKE_API_TOKENS');
  });

  it('says once, not twice a second per connection, that Redis cannot be reached', async () => {
    const closed = createServer();
    closed.listen(0, '127.0.0.1');
    await once(closed, 'listening');
    const { port } = closed.address() as AddressInfo;
    closed.close();
    const { output } = await runMain(
      { HOST: '127.0.0.1', PORT: '0', REDIS_URL: `redis://127.0.0.1:${port}` },
      6_000,
    );
    const problems = output.split('\n').filter((line) => line.includes('connection problem'));
    // Each of its connections retries every 50–2,000 ms: 72 lines in these 6 s before.
    expect(problems.length).toBeGreaterThan(0);
    expect(problems.length).toBeLessThanOrEqual(2);
  }, 20_000);

  it('exits 1 naming the port when another process holds it', async () => {
    const holder = createServer();
    holder.listen(0, '127.0.0.1');
    await once(holder, 'listening');
    const { port } = holder.address() as AddressInfo;
    try {
      const { code, output } = await runMain({ HOST: '127.0.0.1', PORT: String(port) });
      expect(code).toBe(1);
      expect(output).toContain(`port ${port} on 127.0.0.1 is already in use`);
    } finally {
      holder.close();
    }
  });
});
