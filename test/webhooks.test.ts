import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { type LaunchedSystem, launchSystem } from '@fsx/launcher';
import { DuckDbSink } from '@fsx/sinks';
import { eventually } from '@fsx/testing';
import { createWebhookQueue, signFullStoryWebhook } from '@fsx/webhooks';
import { Redis } from 'ioredis';
import { request } from 'undici';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import {
  findFreePort,
  http,
  OUTPUT_DIR,
  tempDataDir,
  useToken,
  waitForExport,
} from './system-helpers.js';

const SECRET = 'whsec-0123456789abcdef';
const TOKEN = 'webhook-test-token-0123456789';
useToken(TOKEN);
let system: LaunchedSystem;
const prefix = `{wh-${process.pid}}`;

beforeAll(async () => {
  system = await launchSystem({
    built: true,
    port: await findFreePort(),
    dataDir: await tempDataDir('webhooks'),
    logDir: path.join(OUTPUT_DIR, 'webhook-logs'),
    env: {
      PATH: process.env.PATH,
      REDIS_URL: inject('redisUrl'),
      QUEUE_PREFIX: prefix,
      INTAKE_API_TOKENS: TOKEN,
      FULLSTORY_WEBHOOK_SECRET: SECRET,
      WEBHOOK_REPLAY_WINDOW_SECONDS: '120',
      SIM_OPERATION_SECONDS: '1',
      SIM_ROWS_PER_EXPORT: '120',
      QUOTA_PER_MINUTE: '600',
      SIM_QUOTA_PER_MINUTE: '600',
      POLL_MIN_DELAY_MS: '300',
      POLL_FIRST_DELAY_MS: '300',
    },
  });
  const registered = await request(`${system.simulatorUrl}/webhooks/v1/endpoints`, {
    method: 'POST',
    headers: { authorization: 'Basic na1.sim-admin', 'content-type': 'application/json' },
    body: JSON.stringify({
      url: `${system.intakeUrl}/v1/webhooks/fullstory`,
      event_types: [
        { event_name: 'segment.trend.alert' },
        { event_name: 'note.created' },
        { event_name: 'mystery.event' },
      ],
      secret: SECRET,
    }),
  });
  expect(registered.statusCode).toBe(200);
}, 90_000);
afterAll(() => system?.stop());

const alert = (id: string, timestamp = new Date(Date.now() - 3_600_000).toISOString()) => ({
  id,
  timestamp,
  value: 42,
  notificationUrl: 'https://app.fullstory.com/ui/o-SIM-na1/notifications',
  alertConfig: {
    description: 'rage clicks up',
    threshold: 10,
    direction: 'ABOVE',
    duration: 'DAILY',
    alertUrl: 'https://app.fullstory.com/alerts/1',
    segmentUrl: 'https://app.fullstory.com/ui/o-SIM-na1/segments/seg001Xq9',
    segmentName: 'Rage clickers',
  },
});

const deliver = async (eventName: string, data: unknown, extra: Record<string, unknown> = {}) =>
  (
    await http('POST', `${system.simulatorUrl}/__sim/webhooks/deliver`, {
      eventName,
      data,
      ...extra,
    })
  ).json.deliveries;

async function exportsOf(segmentId: string) {
  const { json } = await http('GET', `${system.intakeUrl}/v1/exports?limit=100`);
  return json.items.filter((e: { spec: { segmentId: string } }) => e.spec.segmentId === segmentId);
}

const duck = () => new DuckDbSink({ path: path.join(system.dataDir, 'fsx.duckdb') });
const rowsOf = (sql: string) =>
  duck().withConnection(async (db) => (await db.runAndReadAll(sql)).getRowObjectsJS());

describe('FullStory webhooks', () => {
  it('a signed trend alert, delivered by the simulator, starts an export of that segment that completes', async () => {
    const deliveries = await deliver('segment.trend.alert', alert('alert-1'));
    expect(deliveries).toEqual([expect.objectContaining({ status: 200, attempts: 1 })]);
    const [started] = await eventually(async () => {
      const found = await exportsOf('seg001Xq9');
      return found.length > 0 ? found : undefined;
    });
    expect(started.spec).toMatchObject({ type: 'events', format: 'ndjson' });
    expect(Date.parse(started.spec.timeRange.end) - Date.parse(started.spec.timeRange.start)).toBe(
      86_400_000,
    );
    const done = await waitForExport(system.intakeUrl, started.id, 60_000);
    expect(done).toMatchObject({ state: 'completed', rows: 120 });
  }, 90_000);

  it('acts once on a delivery FullStory repeats', async () => {
    const body = alert('alert-dup', new Date(Date.now() - 7_200_000).toISOString());
    const deliveries = await deliver('segment.trend.alert', body, { times: 3 });
    expect(deliveries.map((d: { status: number }) => d.status)).toEqual([200, 200, 200]);
    await new Promise((r) => setTimeout(r, 2_000));
    const window = (await exportsOf('seg001Xq9')).filter(
      (e: { spec: { timeRange: { end: string } } }) =>
        e.spec.timeRange.end === new Date(body.timestamp).toISOString(),
    );
    expect(window).toHaveLength(1);
  });

  it('refuses a forged signature with 401 and queues nothing', async () => {
    const raw = JSON.stringify({
      eventName: 'segment.trend.alert',
      version: 1,
      data: alert('forged'),
    });
    const t = Math.floor(Date.now() / 1000);
    for (const signature of [
      signFullStoryWebhook(raw, 'the-wrong-secret-xyz', 'o-1', t),
      'o:o-1,t:1,v:bm9wZQ==',
      undefined,
    ]) {
      const response = await request(`${system.intakeUrl}/v1/webhooks/fullstory`, {
        method: 'POST',
        body: raw,
        headers: {
          'content-type': 'application/json',
          ...(signature ? { 'fullstory-signature': signature } : {}),
        },
      });
      expect(response.statusCode).toBe(401);
      await response.body.dump();
    }
    // A re-serialised body is not the body that was signed.
    const reformatted = JSON.stringify(JSON.parse(raw), null, 2);
    const response = await request(`${system.intakeUrl}/v1/webhooks/fullstory`, {
      method: 'POST',
      body: reformatted,
      headers: {
        'content-type': 'application/json',
        'fullstory-signature': signFullStoryWebhook(raw, SECRET, 'o-1', t),
      },
    });
    expect(response.statusCode).toBe(401);
    await response.body.dump();
    await new Promise((r) => setTimeout(r, 1_000));
    const stored = await rowsOf(
      `SELECT count(*) AS n FROM webhook_events WHERE id LIKE '%forged%'`,
    );
    expect(Number(stored[0]?.n)).toBe(0);
  });

  it('refuses an old delivery replayed outside the window', async () => {
    const deliveries = await deliver('segment.trend.alert', alert('replayed'), {
      timestampSeconds: Math.floor(Date.now() / 1000) - 3_600,
    });
    // FullStory retries a refused delivery; every attempt is refused.
    expect(deliveries).toEqual([expect.objectContaining({ status: 401, attempts: 4 })]);
  }, 30_000);

  it('stores a note and acknowledges an unknown event', async () => {
    const note = {
      id: 'note-77',
      created: new Date().toISOString(),
      author: 'ana@example.com',
      text: 'Checkout button dead on Safari — see «this» session',
      sessionUrl: 'https://app.fullstory.com/ui/o-SIM-na1/session/1:2',
      pageInfo: { pageUrl: 'https://fruitshoppe.test/checkout', country: 'FR' },
    };
    expect(await deliver('note.created', note)).toEqual([expect.objectContaining({ status: 200 })]);
    expect(await deliver('mystery.event', { id: 'm-1', anything: [1, 2, 3] })).toEqual([
      expect.objectContaining({ status: 200 }),
    ]);
    const notes = await eventually(async () => {
      const rows = await rowsOf(
        `SELECT author, text, page_url FROM notes WHERE id = 'note-77'`,
      ).catch(() => []);
      return rows.length > 0 ? rows : undefined;
    });
    expect(notes).toEqual([
      { author: 'ana@example.com', text: note.text, page_url: 'https://fruitshoppe.test/checkout' },
    ]);
    const unknown = await eventually(async () => {
      const rows = await rowsOf(
        `SELECT event_name FROM webhook_events WHERE id = 'mystery.event:m-1'`,
      ).catch(() => []);
      return rows.length > 0 ? rows : undefined;
    });
    expect(unknown).toEqual([{ event_name: 'mystery.event' }]);
  });

  it('keeps an event whose data does not fit, fails its job at once and logs why', async () => {
    // A note whose text is not text: FullStory's 200 is still owed, the event is kept, and no
    // retry can make it fit (it used to be retried eight times without a line in the log).
    expect(await deliver('note.created', { id: 'note-bad', text: 42 })).toEqual([
      expect.objectContaining({ status: 200 }),
    ]);
    const connection = new Redis(inject('redisUrl'), { maxRetriesPerRequest: null });
    const queue = createWebhookQueue(connection, prefix);
    const jobId = `wh.${Buffer.from('note.created:note-bad').toString('base64url')}`;
    const job = await eventually(async () => {
      const found = await queue.getJob(jobId);
      return (await found?.getState()) === 'failed' ? found : undefined;
    });
    await queue.close();
    connection.disconnect();
    expect(job?.attemptsMade).toBe(1);
    expect(job?.failedReason).toContain('text');
    const kept = await rowsOf(
      `SELECT event_name FROM webhook_events WHERE id = 'note.created:note-bad'`,
    );
    expect(kept).toEqual([{ event_name: 'note.created' }]);
    const log = await readFile(path.join(OUTPUT_DIR, 'webhook-logs', 'worker-webhook.log'), 'utf8');
    expect(log).toMatch(/event kept, not acted on: its data does not fit.*text/);
  });
});
