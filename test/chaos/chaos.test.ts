// The chaos suite: exports under faults while worker processes are killed and Redis restarts.
// Run on its own: `pnpm test:chaos`. Figures go to test-output/chaos-figures.json.
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { type LaunchedSystem, launchSystem, type ManagedProcess } from '@fsx/launcher';
import { closeQueues, createRedis, createStageQueues } from '@fsx/queues';
import { DuckDbSink, FilesSink, PostgresSink } from '@fsx/sinks';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { findFreePort, http, OUTPUT_DIR, tempDataDir, useToken } from '../system-helpers.js';

const TOKEN = 'chaos-token-0123456789abcdef';
useToken(TOKEN);
const EXPORTS = Number(process.env.CHAOS_EXPORTS ?? 32);
const BUDGET_MS = Number(process.env.CHAOS_BUDGET_MS ?? 240_000);
const KILL_EVERY_MS = 1_500;

let system: LaunchedSystem;
let dataDir: string;
const postgresUrl = inject('postgresUrl');

beforeAll(async () => {
  dataDir = await tempDataDir('chaos');
  // Its own Redis (no REDIS_URL), with AOF, so the suite can restart it.
  system = await launchSystem({
    built: true,
    port: await findFreePort(),
    dataDir,
    logDir: path.join(OUTPUT_DIR, 'chaos-logs'),
    replicas: { create: 2, poll: 2, fetch: 2, download: 2, ingest: 2 },
    env: {
      PATH: process.env.PATH,
      LOG_LEVEL: 'info',
      INTAKE_API_TOKENS: TOKEN,
      DATABASE_URL: postgresUrl,
      SIM_QUOTA_BURST: '12',
      SIM_QUOTA_PER_MINUTE: '360',
      QUOTA_BURST: '12',
      QUOTA_PER_MINUTE: '360',
      SIM_OPERATION_SECONDS: '2',
      SIM_ROWS_PER_EXPORT: '400',
      SIM_FAULT_503_RATE: '0.1',
      SIM_FAULT_RESET_RATE: '0.15',
      SIM_FAULT_TRUNCATE_RATE: '0.05',
      SIM_FAULT_EARLY_EXPIRY_RATE: '0.1',
      SIM_FAULT_OPERATION_ERROR_RATE: '0.05',
      POLL_MIN_DELAY_MS: '300',
      POLL_MAX_DELAY_MS: '3000',
      WORKER_LOCK_DURATION_MS: '3000',
      WORKER_STALLED_INTERVAL_MS: '1000',
      WORKER_CONCURRENCY: '4',
      EXPORT_MAX_RECREATES: '3',
    },
  });
}, 120_000);
afterAll(() => system?.stop());

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('chaos', () => {
  it(
    `${EXPORTS} exports survive faults, kill -9 of workers and a Redis restart, with nothing lost or doubled`,
    async () => {
      const types = ['events', 'individuals'] as const;
      const formats = ['json', 'ndjson', 'csv'] as const;
      const sinks = ['duckdb', 'postgres', 'files'] as const;
      const submitted: {
        id: string;
        type: (typeof types)[number];
        sink: (typeof sinks)[number];
      }[] = [];
      for (let i = 0; i < EXPORTS; i++) {
        const type = types[i % 2] as (typeof types)[number];
        const sink = sinks[i % 3] as (typeof sinks)[number];
        const day = String(1 + (i % 28)).padStart(2, '0');
        const { status, json } = await http('POST', `${system.intakeUrl}/v1/exports`, {
          segmentId: 'everyone',
          type,
          format: formats[i % 3],
          sink,
          timeRange: {
            start: `2026-10-${day}T00:00:00Z`,
            end: `2026-10-${day}T${String(1 + Math.floor(i / 28)).padStart(2, '0')}:00:00Z`,
          },
        });
        expect(status).toBe(202);
        submitted.push({ id: json.id, type, sink });
      }

      const started = Date.now();
      let kills = 0;
      let redisRestarts = 0;
      const workers: ManagedProcess[] = Object.values(system.workers).flat();
      const states = async () =>
        Promise.all(
          submitted.map(
            async (s) => (await http('GET', `${system.intakeUrl}/v1/exports/${s.id}`)).json,
          ),
        );
      let records = await states();
      // A killed worker comes back in the background, so the next kill does not wait for it: on a
      // busy CI machine a restart took seconds, and a run that ended in 17 s saw only five kills.
      const restarting = new Map<ManagedProcess, Promise<void>>();
      const restartErrors: unknown[] = [];
      while (Date.now() - started < BUDGET_MS) {
        if (records.every((r) => ['completed', 'failed'].includes(r?.state))) break;
        const up = workers.filter((w) => !restarting.has(w));
        const victim = up[Math.floor(Math.random() * up.length)];
        if (victim) {
          await victim.kill();
          kills += 1;
          const back = sleep(300)
            .then(() => victim.start())
            .catch((error: unknown) => void restartErrors.push(error))
            .finally(() => restarting.delete(victim));
          restarting.set(victim, back);
        }
        if (redisRestarts === 0 && Date.now() - started > 6_000 && system.redis) {
          await system.redis.restart();
          redisRestarts += 1;
        }
        await sleep(KILL_EVERY_MS);
        records = await states().catch(() => records);
      }
      await Promise.all(restarting.values());
      expect(restartErrors).toEqual([]);
      const elapsedS = Math.round((Date.now() - started) / 1000);

      const stats = (await http('GET', `${system.simulatorUrl}/__sim/stats`)).json;
      const duck = new DuckDbSink({ path: path.join(dataDir, 'fsx.duckdb') });
      const files = new FilesSink({ dir: path.join(dataDir, 'files') });
      const pg = new PostgresSink({ connectionString: postgresUrl });
      let rows = 0;
      let duplicates = 0;
      let mismatched = 0;
      for (const [i, record] of records.entries()) {
        const { type, sink } = submitted[i] as (typeof submitted)[number];
        expect(
          ['completed', 'failed'],
          `${record.id} is stuck in ${record.state}/${record.stage}`,
        ).toContain(record.state);
        if (record.state === 'failed') {
          expect(record.lastError, `${record.id} failed without a reason`).toEqual(
            expect.any(String),
          );
          continue;
        }
        const expected = stats.exports[record.fullstory.searchExportId];
        const target = sink === 'duckdb' ? duck : sink === 'files' ? files : pg;
        const loaded = await target.digest(type, record.id);
        rows += loaded.count;
        if (loaded.count > expected.rows) duplicates += loaded.count - expected.rows;
        if (loaded.hash !== expected.hash || loaded.count !== expected.rows) {
          mismatched += 1;
          process.stdout.write(
            `mismatch: ${record.id} ${type} ${record.spec.format} → ${sink}: loaded ${loaded.count}, expected ${expected.rows}\n`,
          );
        }
      }
      await pg.close();
      // Stage jobs that needed more than one run: retried after an error, or taken over after a kill.
      const connection = createRedis(system.redisUrl, 'producer');
      const queues = createStageQueues(connection, '{fsx}');
      let retries = 0;
      let takeovers = 0;
      for (const queue of Object.values(queues)) {
        for (const job of await queue.getJobs(['completed', 'failed'], 0, 5_000)) {
          retries += job.attemptsMade; // runs that threw and were retried with backoff
          takeovers += job.stalledCounter; // runs lost with a killed worker and picked up again
        }
      }
      await closeQueues(queues);
      connection.disconnect();

      const completed = records.filter((r) => r.state === 'completed').length;
      const figures = {
        exports: EXPORTS,
        completed,
        failed: EXPORTS - completed,
        stuck: records.filter((r) => !['completed', 'failed'].includes(r.state)).length,
        seconds: elapsedS,
        kills,
        redisRestarts,
        faults: stats.faults,
        fullstoryCalls: Object.values(stats.requests as Record<string, Record<string, number>>)
          .flatMap((s) => Object.values(s))
          .reduce((a, b) => a + b, 0),
        retries,
        takeovers,
        recreates: records.reduce((sum, r) => sum + r.fullstory.recreates, 0),
        downloadRestarts: records.reduce((sum, r) => sum + r.fullstory.downloadRestarts, 0),
        http429: stats.rateLimited,
        rows,
        duplicates,
        mismatched,
      };
      process.stdout.write(
        `\nchaos figures\n${Object.entries(figures)
          .map(([k, v]) => `  ${k.padEnd(18)} ${typeof v === 'object' ? JSON.stringify(v) : v}`)
          .join('\n')}\n`,
      );
      await mkdir(OUTPUT_DIR, { recursive: true });
      await writeFile(
        path.join(OUTPUT_DIR, 'chaos-figures.json'),
        `${JSON.stringify({ at: new Date().toISOString(), ...figures }, null, 2)}\n`,
      );

      expect(figures.stuck).toBe(0);
      expect(redisRestarts).toBe(1);
      expect(kills).toBeGreaterThan(5);
      expect(duplicates).toBe(0);
      expect(mismatched).toBe(0);
      expect(figures.http429).toBe(0);
      // Faults are bounded by retries, not fatal: nearly every export must get through.
      expect(completed).toBeGreaterThanOrEqual(EXPORTS - 2);
    },
    BUDGET_MS + 120_000,
  );
});
