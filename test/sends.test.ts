import path from 'node:path';
import { type LaunchedSystem, launchSystem } from '@fsx/launcher';
import { request } from 'undici';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { findFreePort, http, OUTPUT_DIR, tempDataDir, useToken } from './system-helpers.js';

// Users and events into FullStory's server API through the whole system, as separate processes:
// the intake, worker-send, Redis and the simulator, with FullStory misbehaving on purpose.
let system: LaunchedSystem;
const TOKEN = 'sends-token-0123456789abcdef';
const API_KEY = 'na1.sim-admin';
useToken(TOKEN);

beforeAll(async () => {
  system = await launchSystem({
    built: true,
    port: await findFreePort(),
    dataDir: await tempDataDir('sends'),
    logDir: path.join(OUTPUT_DIR, 'sends-logs'),
    env: {
      PATH: process.env.PATH,
      REDIS_URL: inject('redisUrl'),
      QUEUE_PREFIX: `{sends-${process.pid}}`,
      INTAKE_API_TOKENS: TOKEN,
      INTAKE_RATE_LIMIT_PER_MINUTE: '100000',
      LOG_LEVEL: 'info',
      SIM_BATCH_MS: '300',
      // One request in ten is a 429 with Retry-After; one batched item in a hundred fails retryably.
      SIM_FAULT_RATE_LIMITED_RATE: '0.1',
      SIM_FAULT_BATCH_ITEM_ERROR_RATE: '0.01',
      SEND_POLL_MIN_DELAY_MS: '200',
      SEND_POLL_MAX_DELAY_MS: '2000',
      SEND_GATHER_MS: '200',
    },
  });
}, 90_000);
afterAll(() => system?.stop());

async function send(kind: 'users' | 'events', items: unknown[]): Promise<string[]> {
  const ids: string[] = [];
  for (let i = 0; i < items.length; i += 1000) {
    const { status, json } = await http(
      'POST',
      `${system.intakeUrl}/v1/${kind}`,
      items.slice(i, i + 1000),
    );
    expect(status, JSON.stringify(json)).toBe(202);
    ids.push(json.id);
  }
  return ids;
}

async function allFinished(ids: string[], timeoutMs = 120_000) {
  const deadline = Date.now() + timeoutMs;
  const views = new Map<string, any>();
  while (views.size < ids.length) {
    for (const id of ids.filter((i) => !views.has(i))) {
      const { json } = await http('GET', `${system.intakeUrl}/v1/sends/${id}`);
      if (json.pending === 0) views.set(id, json);
    }
    if (Date.now() > deadline) throw new Error(`${ids.length - views.size} sends still pending`);
    await new Promise((r) => setTimeout(r, 200));
  }
  return [...views.values()];
}

async function simulatorData() {
  const { json } = await http('GET', `${system.simulatorUrl}/__sim/server`);
  return json[API_KEY] as { users: any[]; events: any[] };
}

describe('sending users and events to FullStory', () => {
  it('delivers 10,000 users and 50,000 events exactly once, with properties merged the v2 way', async () => {
    const users = Array.from({ length: 10_000 }, (_, i) => ({
      uid: `user-${i}`,
      display_name: `User ${i}`,
      email: `user${i}@example.com`,
      properties: { plan: 'free', signup_order: i },
    }));
    const firstIds = await send('users', users);
    const events = Array.from({ length: 50_000 }, (_, i) => ({
      name: i % 2 ? 'Viewed Page' : 'Clicked Button',
      timestamp: new Date(Date.UTC(2026, 10, 1) + i * 1000).toISOString(),
      user: { uid: `user-${i % 10_000}` },
      properties: { seq: i },
    }));
    const eventIds = await send('events', events);
    for (const view of await allFinished(firstIds))
      expect(view).toMatchObject({ state: 'completed', failed: 0 });
    // Later updates to every other user: new properties join, a changed one takes the latest value.
    const updates = users
      .filter((_, i) => i % 2 === 0)
      .map((u) => ({ uid: u.uid, properties: { plan: 'paid', seats: 3 } }));
    const updateIds = await send('users', updates);
    const views = await allFinished([...eventIds, ...updateIds]);
    for (const view of views) expect(view).toMatchObject({ state: 'completed', failed: 0 });

    const data = await simulatorData();
    const byUid = new Map(data.users.map((u) => [u.uid, u]));
    expect(byUid.size).toBe(10_000);
    expect(data.users).toHaveLength(10_000);
    for (let i = 0; i < 10_000; i++) {
      const user = byUid.get(`user-${i}`);
      expect(user.display_name).toBe(`User ${i}`);
      expect(user.properties).toEqual(
        i % 2 === 0
          ? { plan: 'paid', signup_order: i, seats: 3 }
          : { plan: 'free', signup_order: i },
      );
      expect(user.writes).toBe(i % 2 === 0 ? 2 : 1);
    }
    expect(data.events).toHaveLength(50_000);
    const idOfUid = new Map(data.users.map((u) => [u.uid, u.id]));
    const seen = new Set<number>();
    for (const event of data.events) {
      const seq = event.properties.seq as number;
      expect(seen.has(seq)).toBe(false);
      seen.add(seq);
      expect(event.userId).toBe(idOfUid.get(`user-${seq % 10_000}`));
    }

    // FullStory's faults really happened, and fsx used batch imports for this volume.
    const { json: stats } = await http('GET', `${system.simulatorUrl}/__sim/stats`);
    expect(stats.faults.rate_limited).toBeGreaterThan(0);
    expect(stats.faults.batch_item_error).toBeGreaterThan(0);
    expect(stats.requests['POST /v2/events/batch']['200']).toBeGreaterThanOrEqual(10);
    // Every item counted once in /metrics, retries and 429s notwithstanding.
    const metrics = await (
      await request(`${system.intakeUrl}/metrics`, {
        headers: { authorization: `Bearer ${TOKEN}` },
      })
    ).body.text();
    expect(metrics).toMatch(/fsx_send_items_total\{kind="events",outcome="sent"\} 50000\b/);
    expect(metrics).toMatch(/fsx_send_items_total\{kind="users",outcome="sent"\} 15000\b/);
  }, 240_000);

  it('reports a partially failed send item by item: sent, refused with a reason, nothing lost', async () => {
    const { status, json } = await http('POST', `${system.intakeUrl}/v1/events`, [
      { name: 'Fine', properties: { k: 'a' } },
      { name: 'Orphan', user: { id: '404404404' } },
      { name: 'Fine', properties: { k: 'b' } },
    ]);
    expect(status).toBe(202);
    const [view] = await allFinished([json.id]);
    expect(view).toMatchObject({ state: 'partial', sent: 2, failed: 1 });
    expect(view.failures).toEqual([
      expect.objectContaining({ index: 1, code: 'resource_not_found' }),
    ]);
  }, 60_000);
});
