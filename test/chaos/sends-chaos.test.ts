// Users and events into FullStory while worker-send is killed (-9) again and again, FullStory
// answers 429s and fails batched items: every item must arrive exactly once.
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { type LaunchedSystem, launchSystem } from '@fsx/launcher';
import { createQueue } from '@fsx/queues';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { findFreePort, http, OUTPUT_DIR, tempDataDir, useToken } from '../system-helpers.js';

const TOKEN = 'chaos-token-0123456789abcdef';
useToken(TOKEN);
const USERS = 5_000;
const EVENTS = 20_000;
const BUDGET_MS = Number(process.env.SENDS_CHAOS_BUDGET_MS ?? 180_000);
const PREFIX = `{sends-chaos-${process.pid}}`;
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
      QUEUE_PREFIX: PREFIX,
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

/** Server-API calls the simulator answered so far, and its 429s beyond the injected ones. */
async function simCalls() {
  const stats = (await http('GET', `${system.simulatorUrl}/__sim/stats`)).json;
  const calls = Object.values(stats.requests as Record<string, Record<string, number>>)
    .flatMap((byStatus) => Object.values(byStatus))
    .reduce((a, b) => a + b, 0);
  return { calls, overQuota: stats.rateLimited - stats.faults.rate_limited, faults: stats.faults };
}

const rank = (state?: string) =>
  ['failed', 'completed', 'waiting', 'delayed', 'active'].indexOf(state ?? '');

/**
 * Where unsettled items are when the budget runs out: the send queue's jobs, every open batch
 * with its job's state, and what is still queued. Written to test-output so a red CI explains
 * itself instead of saying only "pending".
 */
async function whereArePending(pendingSends: string[], timeline: string[]) {
  const redis = new Redis(inject('redisUrl'), { maxRetriesPerRequest: null });
  const queue = createQueue('send', redis, PREFIX, {});
  try {
    const batchKeys: string[] = [];
    for await (const keys of redis.scanStream({ match: `${PREFIX}:sendbatch:*`, count: 1000 }))
      batchKeys.push(...(keys as string[]));
    const openBatches = [];
    for (const key of batchKeys) {
      const batch = await redis.hgetall(key);
      if (batch.state === 'settled') continue;
      const id = key.slice(`${PREFIX}:sendbatch:`.length);
      const job = await queue.getJob(`batch.${id}`);
      const refs = JSON.parse(batch.refs ?? '[]') as string[];
      openBatches.push({
        id,
        ...batch,
        createdAt: batch.createdAt ?? '',
        refs: refs.length,
        pendingSendsHere: pendingSends.filter((s) => refs.some((r) => r.startsWith(`${s}|`)))
          .length,
        job: job
          ? {
              state: await job.getState(),
              attemptsMade: job.attemptsMade,
              failedReason: job.failedReason,
              runAt: new Date(job.timestamp + (job.delay ?? 0)).toISOString(),
            }
          : null,
      });
    }
    const byJobState: Record<string, number> = {};
    for (const batch of openBatches) {
      const state = batch.job?.state ?? 'no job';
      byJobState[state] = (byJobState[state] ?? 0) + 1;
    }
    const queued: Record<string, number> = {};
    for await (const keys of redis.scanStream({ match: `${PREFIX}:sendq:*`, count: 1000 }))
      for (const key of keys as string[]) queued[key] = await redis.llen(key);
    const report = {
      at: new Date().toISOString(),
      pendingSends: pendingSends.length,
      timeline,
      jobCounts: await queue.getJobCounts(),
      schedulers: await queue.getJobSchedulers(),
      queued,
      openBatchesByJobState: byJobState,
      // The strangest first: a batch no job will run, then failed ones, then the longest waiting.
      openBatches: openBatches
        .sort(
          (a, b) =>
            rank(a.job?.state) - rank(b.job?.state) || a.createdAt.localeCompare(b.createdAt),
        )
        .slice(0, 40),
    };
    await writeFile(
      path.join(OUTPUT_DIR, 'sends-chaos-stuck.json'),
      JSON.stringify(report, null, 2),
    );
    return report;
  } finally {
    await queue.close();
    redis.disconnect();
  }
}

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
      // Seconds, server-API calls so far, sends settled of those posted: where the time went.
      const timeline: string[] = [];
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
        const { calls } = await simCalls();
        timeline.push(
          `${Math.round((Date.now() - started) / 1000)}s ${calls}c ${settled.size}/${ids.length}`,
        );
      }
      if (!done) {
        const report = await whereArePending(
          ids.filter((id) => !settled.has(id)),
          timeline,
        );
        process.stdout.write(`\nsends chaos, still pending:\n${JSON.stringify(report, null, 2)}\n`);
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
      const { calls, overQuota, faults } = await simCalls();
      process.stdout.write(
        `\nsends chaos: ${kills} kills, ${calls} calls, ${overQuota} over quota, faults ${JSON.stringify(faults)}, ${Math.round((Date.now() - started) / 1000)} s\n  ${timeline.join(', ')}\n`,
      );
    },
    BUDGET_MS + 120_000,
  );
});
