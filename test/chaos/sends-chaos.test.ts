// Users and events into FullStory while worker-send is killed (-9) again and again, FullStory
// answers 429s and fails batched items: every item must arrive exactly once.
import path from 'node:path';
import { type LaunchedSystem, launchSystem } from '@fsx/launcher';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { findFreePort, http, OUTPUT_DIR, tempDataDir, useToken } from '../system-helpers.js';

const TOKEN = 'chaos-token-0123456789abcdef';
useToken(TOKEN);
const USERS = 5_000;
const EVENTS = 20_000;
const BUDGET_MS = 180_000;
let system: LaunchedSystem;

beforeAll(async () => {
  system = await launchSystem({
    built: true,
    port: await findFreePort(),
    dataDir: await tempDataDir('sends-chaos'),
    logDir: path.join(OUTPUT_DIR, 'sends-chaos-logs'),
    env: {
      PATH: process.env.PATH,
      REDIS_URL: inject('redisUrl'),
      QUEUE_PREFIX: `{sends-chaos-${process.pid}}`,
      INTAKE_API_TOKENS: TOKEN,
      INTAKE_RATE_LIMIT_PER_MINUTE: '100000',
      LOG_LEVEL: 'info',
      SIM_BATCH_MS: '500',
      // Each 429 empties the key's bucket and holds every process back for its Retry-After
      // (1 s): at 10% of ~1,000 calls that was ~100 s of the budget, and a slow CI ran out.
      SIM_FAULT_RATE_LIMITED_RATE: '0.03',
      SIM_FAULT_503_RATE: '0.05',
      SIM_FAULT_BATCH_ITEM_ERROR_RATE: '0.02',
      // Small batches and single calls too, so a kill can land in every step of both paths.
      SEND_BATCH_MAX: '400',
      SEND_IMPORT_THRESHOLD: '50',
      SEND_GATHER_MS: '500',
      SEND_SWEEP_MS: '2000',
      SEND_POLL_MIN_DELAY_MS: '200',
      SEND_POLL_MAX_DELAY_MS: '1000',
      WORKER_LOCK_DURATION_MS: '2000',
      WORKER_STALLED_INTERVAL_MS: '1000',
    },
  });
}, 120_000);
afterAll(() => system?.stop());

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('sends under chaos', () => {
  it(
    `${USERS} users and ${EVENTS} events arrive exactly once while worker-send is killed`,
    async () => {
      const ids: string[] = [];
      const post = async (kind: string, items: unknown[]) => {
        const { status, json } = await http('POST', `${system.intakeUrl}/v1/${kind}`, items);
        expect(status).toBe(202);
        ids.push(json.id);
      };
      // Small requests and large ones, interleaved while the killing goes on.
      const submitting = (async () => {
        for (let i = 0; i < USERS; i += 250)
          await post(
            'users',
            Array.from({ length: 250 }, (_, k) => ({ uid: `c${i + k}`, properties: { n: i + k } })),
          );
        for (let i = 0; i < EVENTS; i += 10)
          await post(
            'events',
            Array.from({ length: 10 }, (_, k) => ({ name: 'Chaos', properties: { seq: i + k } })),
          );
      })();

      const started = Date.now();
      let kills = 0;
      let done = false;
      const settled = new Set<string>();
      while (Date.now() - started < BUDGET_MS && !done) {
        await sleep(2_000 + Math.random() * 2_000);
        await system.sendWorker.kill();
        kills += 1;
        await sleep(200);
        await system.sendWorker.start();
        if (kills > 8) await submitting;
        // A send with nothing pending stays so: only the others are asked again.
        const pending = ids.filter((id) => !settled.has(id));
        const views = await Promise.all(
          pending.map(async (id) => ({
            id,
            view: (await http('GET', `${system.intakeUrl}/v1/sends/${id}`)).json,
          })),
        );
        for (const { id, view } of views) if (view.pending === 0) settled.add(id);
        done = kills > 8 && settled.size === USERS / 250 + EVENTS / 10;
      }
      expect(done, `sends still pending after ${BUDGET_MS} ms`).toBe(true);
      expect(kills).toBeGreaterThan(8);

      const views = await Promise.all(
        ids.map(async (id) => (await http('GET', `${system.intakeUrl}/v1/sends/${id}`)).json),
      );
      expect(views.filter((v) => v.state !== 'completed')).toEqual([]);
      const data = (await http('GET', `${system.simulatorUrl}/__sim/server`)).json['na1.sim-admin'];
      const users = data.users.filter((u: any) => u.uid?.startsWith('c'));
      expect(users).toHaveLength(USERS);
      expect(users.filter((u: any) => u.writes !== 1)).toEqual([]);
      const seqs = data.events
        .map((e: any) => e.properties.seq)
        .sort((a: number, b: number) => a - b);
      expect(seqs).toEqual(Array.from({ length: EVENTS }, (_, i) => i));
      const stats = (await http('GET', `${system.simulatorUrl}/__sim/stats`)).json;
      process.stdout.write(
        `\nsends chaos: ${kills} kills, faults ${JSON.stringify(stats.faults)}, ${Math.round((Date.now() - started) / 1000)} s\n`,
      );
    },
    BUDGET_MS + 120_000,
  );
});
