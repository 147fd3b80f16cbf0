import { execFile } from 'node:child_process';
import { mkdir, readdir, readFile, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { type LaunchedSystem, launchSystem } from '@fsx/launcher';
import { closeQueues, createRedis, createStageQueues } from '@fsx/queues';
import { DuckDbSink } from '@fsx/sinks';
import { eventually } from '@fsx/testing';
import { request } from 'undici';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import {
  findFreePort,
  http,
  OUTPUT_DIR,
  redisStrings,
  tempDataDir,
  useToken,
  waitForExport,
} from './system-helpers.js';

// The whole system as separate processes: Redis (the test run's), the simulator, the intake and
// one process per stage, exactly as `pnpm start` runs them.
let system: LaunchedSystem;
const prefix = `{e2e-${process.pid}}`;
const TOKEN = 'e2e-token-0123456789abcdef';
const API_KEY = 'na1.sim-admin';
useToken(TOKEN);

beforeAll(async () => {
  system = await launchSystem({
    built: true,
    port: await findFreePort(),
    dataDir: await tempDataDir('e2e'),
    logDir: path.join(OUTPUT_DIR, 'e2e-logs'),
    env: {
      PATH: process.env.PATH,
      REDIS_URL: inject('redisUrl'),
      QUEUE_PREFIX: prefix,
      INTAKE_API_TOKENS: TOKEN,
      LOG_LEVEL: 'info',
      // A small quota on both sides: the shared limiter must keep fsx under it.
      SIM_QUOTA_BURST: '8',
      SIM_QUOTA_PER_MINUTE: '240',
      QUOTA_BURST: '8',
      QUOTA_PER_MINUTE: '240',
      SIM_OPERATION_SECONDS: '1',
      SIM_ROWS_PER_EXPORT: '600',
      POLL_MIN_DELAY_MS: '300',
      POLL_FIRST_DELAY_MS: '300',
      POLL_MAX_DELAY_MS: '3000',
      WORKER_LOCK_DURATION_MS: '3000',
      WORKER_STALLED_INTERVAL_MS: '1000',
      SIM_FAULT_SLOW_MS: '4000',
    },
  });
}, 90_000);
afterAll(() => system?.stop());

const DAY = { start: '2026-11-01T00:00:00Z', end: '2026-11-02T00:00:00Z' };

async function simExport(searchExportId: string) {
  const { json } = await http('GET', `${system.simulatorUrl}/__sim/stats`);
  return { stats: json, exported: json.exports[searchExportId] };
}

describe('fsx end to end, one process per stage', () => {
  it('lands every type and format in DuckDB with exactly the simulator rows and zero 429s', async () => {
    const combos = ['events', 'individuals'].flatMap((type) =>
      ['json', 'ndjson', 'csv'].map((format) => ({ type, format })),
    );
    const accepted = await Promise.all(
      combos.map(({ type, format }) =>
        http('POST', `${system.intakeUrl}/v1/exports`, {
          segmentId: 'everyone',
          type,
          format,
          timeRange: DAY,
        }),
      ),
    );
    expect(accepted.map((a) => a.status)).toEqual(combos.map(() => 202));
    const finished = await Promise.all(
      accepted.map((a) => waitForExport(system.intakeUrl, a.json.id, 90_000)),
    );
    const duck = new DuckDbSink({ path: path.join(system.dataDir, 'fsx.duckdb') });
    for (const [i, record] of finished.entries()) {
      expect(record.state, record.lastError).toBe('completed');
      const { exported } = await simExport(record.fullstory.searchExportId);
      expect(record.rows).toBe(600);
      expect(await duck.digest(combos[i]?.type as 'events', record.id)).toEqual({
        count: exported.rows,
        hash: exported.hash,
      });
    }
    const { stats } = await simExport('');
    expect(stats.rateLimited).toBe(0);
    const calls = Object.values(stats.requests as Record<string, Record<string, number>>)
      .flatMap((s) => Object.values(s))
      .reduce((a, b) => a + b, 0);
    expect(calls).toBeGreaterThanOrEqual(6 * 3);
  }, 120_000);

  it('finishes an export exactly once when its download worker is killed mid-download', async () => {
    // The next storage response is held for 4 s, so the download job is surely in flight.
    await http('POST', `${system.simulatorUrl}/__sim/faults`, {
      kind: 'slow',
      times: 1,
      scope: 'storage',
    });
    const { json } = await http('POST', `${system.intakeUrl}/v1/exports`, {
      segmentId: 'everyone',
      type: 'events',
      format: 'csv',
      timeRange: { start: '2026-10-05T00:00:00Z', end: '2026-10-06T00:00:00Z' },
    });
    await waitForExport(system.intakeUrl, json.id, 30_000, ['download']);
    await new Promise((r) => setTimeout(r, 500));
    const [worker] = system.workers.download;
    await worker?.kill();
    await worker?.start();
    const record = await waitForExport(system.intakeUrl, json.id, 60_000);
    expect(record.state, record.lastError).toBe('completed');
    const { exported, stats } = await simExport(record.fullstory.searchExportId);
    expect(stats.faults.slow).toBe(1);
    // The killed worker's job stalled and another run took it over.
    const connection = createRedis(system.redisUrl, 'producer');
    const queues = createStageQueues(connection, prefix);
    const downloads = await queues.download.getJobs(['completed']);
    const job = downloads.find((j) => j.data.exportId === record.id);
    expect(job?.attemptsStarted).toBeGreaterThanOrEqual(2);
    await closeQueues(queues);
    connection.disconnect();
    const duck = new DuckDbSink({ path: path.join(system.dataDir, 'fsx.duckdb') });
    expect(await duck.digest('events', record.id)).toEqual({
      count: exported.rows,
      hash: exported.hash,
    });
  }, 90_000);

  it('starts the ingest worker with libuv threads to spare beside its loads', async () => {
    // Each load's DuckDB query holds a pool thread; Node's default four would all be taken.
    const logDir = path.join(OUTPUT_DIR, 'e2e-logs');
    const lines = (await readFile(path.join(logDir, 'worker-ingest.log'), 'utf8')).split('\n');
    // The log file grows across runs: this run's boot is what follows the previous ready line.
    const ready = lines.flatMap((line, i) =>
      line.includes('"msg":"worker-ingest ready"') ? [i] : [],
    );
    const boot = lines.slice((ready.at(-2) ?? -1) + 1, (ready.at(-1) ?? -1) + 1);
    expect(JSON.parse(boot.at(-1) ?? '{}')).toMatchObject({ concurrency: 4, threadPoolSize: 8 });
    expect(boot.join('\n')).not.toContain('leaves no libuv thread');
  });

  it('leaves no API key or token in Redis, the logs or Bull Board', async () => {
    const secrets = [API_KEY, Buffer.from(API_KEY).toString('base64'), TOKEN];
    const stored = await redisStrings(system.redisUrl, `${prefix}*`);
    expect(stored.length).toBeGreaterThan(50);
    const logDir = path.join(OUTPUT_DIR, 'e2e-logs');
    const logs = await Promise.all(
      (await readdir(logDir))
        .filter((f) => !f.startsWith('fullstory-sim'))
        .map((f) => readFile(path.join(logDir, f), 'utf8')),
    );
    expect(logs.join('').length).toBeGreaterThan(1000);
    const board: string[] = [];
    for (const status of ['completed', 'failed', 'delayed', 'waiting']) {
      const { json } = await http(
        'GET',
        `${system.intakeUrl}/admin/queues/api/queues?activeQueue=download&status=${status}&page=1`,
      );
      board.push(JSON.stringify(json));
    }
    expect(board.join('')).toContain('exportId');
    for (const haystack of [stored.join('\n'), logs.join('\n'), board.join('\n')]) {
      for (const secret of secrets) expect(haystack).not.toContain(secret);
    }
  });

  it("shows the whole system in Prometheus metrics: queue counts and every worker process's counters", async () => {
    const response = await request(`${system.intakeUrl}/metrics`, {
      headers: { authorization: `Bearer ${TOKEN}` },
    });
    expect(response.statusCode).toBe(200);
    const text = await response.body.text();
    const value = (pattern: RegExp) => Number(pattern.exec(text)?.[1] ?? Number.NaN);
    // 7 exports have completed by now (six formats and types, and the killed-worker one).
    expect(value(/^fsx_exports_finished_total\{state="completed"\} (\d+)/m)).toBe(7);
    expect(value(/^fsx_rows_ingested_total\{sink="duckdb"\} (\d+)/m)).toBe(7 * 600);
    expect(value(/^fsx_fullstory_calls_total\{stage="create",outcome="ok"\} (\d+)/m)).toBe(7);
    expect(value(/^fsx_stage_job_seconds_count\{stage="ingest"\} (\d+)/m)).toBeGreaterThanOrEqual(
      7,
    );
    expect(text).toMatch(/^bullmq_job_count\{queue="ingest", state="completed"\} 7$/m);
    expect(text.match(/^# HELP bullmq_job_count /gm)).toHaveLength(1);
    expect(text).toContain('fsx_intake_process_resident_memory_bytes');
  });

  it("removes the staged files of an export cancelled while it waited for ingest, and a dead load's spill", async () => {
    const [ingest] = system.workers.ingest;
    await ingest?.stop();
    const { json } = await http('POST', `${system.intakeUrl}/v1/exports`, {
      segmentId: 'everyone',
      type: 'events',
      format: 'ndjson',
      timeRange: { start: '2026-10-07T00:00:00Z', end: '2026-10-08T00:00:00Z' },
    });
    await waitForExport(system.intakeUrl, json.id, 30_000, ['ingest']);
    const staging = path.join(system.dataDir, 'staging');
    const staged = async () => (await readdir(staging)).filter((n) => n.startsWith(json.id));
    expect((await staged()).sort()).toEqual([`${json.id}.ndjson`, `${json.id}.ndjson.gz`]);
    expect((await http('DELETE', `${system.intakeUrl}/v1/exports/${json.id}`)).status).toBe(200);
    // Its ingest job is gone with the cancel: nothing would ever load, or remove, those files.
    // Beside them, what a load's DuckDB killed mid-spill leaves (named by its dead process).
    const dead = execFile('true');
    await new Promise((resolve) => dead.once('exit', resolve));
    const tmp = path.join(system.dataDir, 'tmp');
    const spill = path.join(tmp, `duckdb-${dead.pid}@${os.hostname()}.abcdef`);
    await mkdir(spill, { recursive: true });
    await writeFile(path.join(spill, 'duckdb_temp_storage-0.tmp'), 'spilled rows');
    await ingest?.start();
    const left = async () => [...(await staged()), ...(await readdir(tmp))];
    // Up to 15 s for the restarted worker's first round, then what is left, by name.
    await eventually(async () => ((await left()).length === 0 ? true : undefined), 15_000).catch(
      () => undefined,
    );
    expect(await left()).toEqual([]);
  }, 60_000);

  it('backfills a long range as one child export per day, and reports them as one', async () => {
    const { status, json } = await http('POST', `${system.intakeUrl}/v1/exports`, {
      segmentId: 'everyone',
      type: 'events',
      format: 'ndjson',
      timeRange: { start: '2026-08-10T00:00:00Z', end: '2026-08-13T00:00:00Z' },
      splitBy: '1d',
    });
    expect(status).toBe(202);
    const done = await waitForExport(system.intakeUrl, json.id, 90_000);
    expect(done).toMatchObject({ state: 'completed', progress: 100, rows: 3 * 600 });
    expect(done.children.map((c: { timeRange: { start: string } }) => c.timeRange.start)).toEqual([
      '2026-08-10T00:00:00.000Z',
      '2026-08-11T00:00:00.000Z',
      '2026-08-12T00:00:00.000Z',
    ]);
    const tooMany = await http('POST', `${system.intakeUrl}/v1/exports`, {
      segmentId: 'everyone',
      type: 'events',
      timeRange: { start: '2020-01-01T00:00:00Z', end: '2026-01-01T00:00:00Z' },
      splitBy: '1h',
    });
    expect(tooMany.status).toBe(400);
  }, 120_000);

  describe('the fsx CLI against the running intake', () => {
    const cli = path.resolve(import.meta.dirname, '../apps/cli/bin/fsx.mjs');
    const fsx = (args: string[], token: string | undefined = TOKEN) =>
      new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve) => {
        execFile(
          process.execPath,
          [cli, '--url', system.intakeUrl, ...args],
          { env: { ...process.env, FSX_TOKEN: token ?? '' }, timeout: 90_000 },
          (error, stdout, stderr) =>
            resolve({ code: error ? ((error as { code?: number }).code ?? 1) : 0, stdout, stderr }),
        );
      });

    it('starts an export and follows it to its row count with --wait', async () => {
      const run = await fsx([
        'export',
        '--segment',
        'everyone',
        '--type',
        'individuals',
        '--format',
        'csv',
        '--since',
        '2026-09-10',
        '--until',
        '2026-09-11',
        '--wait',
      ]);
      expect(run.code, run.stderr).toBe(0);
      // The progress bar (on stderr, like every progress display) reached FullStory's 100%.
      expect(run.stderr).toMatch(/100% \| /);
      const id = /export (\S+) accepted/.exec(run.stdout)?.[1];
      expect(run.stdout).toContain(`export ${id} completed: 600 rows`);
      const status = await fsx(['status', id as string]);
      expect(status.code).toBe(0);
      expect(status.stdout).toMatch(new RegExp(`${id}\\s+completed`));
    }, 90_000);

    it('backfills with --split-by and cancels with cancel', async () => {
      const run = await fsx([
        'export',
        '--segment',
        'everyone',
        '--since',
        '2026-09-01',
        '--until',
        '2026-09-03',
        '--split-by',
        '1d',
        '--wait',
      ]);
      expect(run.code, run.stderr).toBe(0);
      const id = /export (\S+) accepted/.exec(run.stdout)?.[1] as string;
      expect(run.stdout).toContain(`export ${id} completed: 1200 rows`);
      expect(await fsx(['cancel', id])).toMatchObject({
        code: 1,
        stderr: `fsx: export ${id} already completed\n`,
      });
      const started = await fsx([
        'export',
        '--segment',
        'everyone',
        '--since',
        '2026-09-05',
        '--until',
        '2026-09-08',
        '--split-by',
        '1d',
      ]);
      const running = /export (\S+) accepted/.exec(started.stdout)?.[1] as string;
      expect(await fsx(['cancel', running])).toMatchObject({
        code: 0,
        stdout: `export ${running} cancelled\n`,
      });
      expect((await fsx(['status', running])).stdout).toMatch(
        new RegExp(`${running}\\s+cancelled`),
      );
    }, 90_000);

    it('lists segments', async () => {
      const run = await fsx(['segments']);
      expect(run.code).toBe(0);
      expect(run.stdout.split('\n').filter(Boolean)).toHaveLength(45);
      expect(run.stdout).toMatch(/^everyone\s+Everyone/m);
    });

    it('exits non-zero with a clear message on bad input, a bad token or no server', async () => {
      const badDate = await fsx(['export', '--segment', 'everyone', '--since', 'yesterday']);
      expect(badDate).toMatchObject({
        code: 1,
        stderr: 'fsx: --since must be a date like 2026-11-01 or a timestamp\n',
      });
      const badType = await fsx(['export', '--segment', 'everyone', '--type', 'pages']);
      expect(badType.code).toBe(1);
      expect(badType.stderr).toContain("argument 'pages' is invalid");
      const future = await fsx(['export', '--segment', 'everyone', '--since', '2099-01-01']);
      expect(future).toMatchObject({ code: 1 });
      expect(future.stderr).toContain('timeRange/start: must not be in the future');
      expect(await fsx(['status'], 'not-the-token-at-all-000')).toMatchObject({
        code: 1,
        stderr: expect.stringContaining('refused the token'),
      });
    });

    it('lists schedules created through the API', async () => {
      const created = await http('POST', `${system.intakeUrl}/v1/schedules`, {
        segmentId: 'everyone',
        type: 'events',
        every: '1d',
        sink: 'duckdb',
      });
      expect(created.status).toBe(201);
      const run = await fsx(['schedules']);
      expect(run.code).toBe(0);
      expect(run.stdout).toContain(
        `${created.json.id}  every 1440 min  everyone events/ndjson → duckdb`,
      );
      const bad = await http('POST', `${system.intakeUrl}/v1/schedules`, {
        segmentId: 'everyone',
        type: 'events',
        every: '5s',
      });
      expect(bad.status).toBe(400);
      expect(
        (await http('DELETE', `${system.intakeUrl}/v1/schedules/${created.json.id}`)).status,
      ).toBe(200);
      expect((await fsx(['schedules'])).stdout).toBe('no schedules\n');
      const bundles = await http('POST', `${system.intakeUrl}/v1/schedules`, {
        kind: 'bundles',
        every: '1h',
      });
      expect(bundles.status, JSON.stringify(bundles.json)).toBe(201);
      expect(bundles.json).toMatchObject({
        kind: 'bundles',
        spec: { segmentId: 'bundles', type: 'events', format: 'json' },
      });
      expect((await http('POST', `${system.intakeUrl}/v1/schedules`, { every: '1h' })).status).toBe(
        400,
      );
      const cron = await http('POST', `${system.intakeUrl}/v1/schedules`, {
        segmentId: 'everyone',
        type: 'events',
        every: '0 */6 * * *',
      });
      expect(cron.json).toMatchObject({ cron: '0 */6 * * *', everyMs: 6 * 3_600_000 });
      expect(new Date(cron.json.cursor).getUTCHours() % 6).toBe(0);
      // FullStory's spellings, as an export takes them.
      const spelled = await http('POST', `${system.intakeUrl}/v1/schedules`, {
        segmentId: 'everyone',
        type: 'TYPE_INDIVIDUAL',
        format: 'FORMAT_CSV',
        every: '1d',
      });
      expect(spelled.status, JSON.stringify(spelled.json)).toBe(201);
      expect(spelled.json.spec).toMatchObject({ type: 'individuals', format: 'csv' });
      await http('DELETE', `${system.intakeUrl}/v1/schedules/${spelled.json.id}`);
      await http('DELETE', `${system.intakeUrl}/v1/schedules/${cron.json.id}`);
      await http('DELETE', `${system.intakeUrl}/v1/schedules/${bundles.json.id}`);
    });
  });
});
