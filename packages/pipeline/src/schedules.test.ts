import { eventually, useTestRedis } from '@fsx/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  createScheduleQueue,
  createScheduleWorker,
  cronIntervalMs,
  nextCronMs,
  parseEvery,
  ScheduleStore,
  startSchedule,
  tickSchedule,
} from './index.js';
import { startPipeline } from './pipeline-test-helpers.js';

const redis = useTestRedis();
let p: Awaited<ReturnType<typeof startPipeline>>;
beforeAll(async () => {
  p = await startPipeline(redis, {
    operationMs: 150,
    rowsPerExport: 20, // Bundles close on the hour, as FullStory's do (whole seconds).
    bundles: {
      origin: new Date(
        Math.floor(Date.now() / 3_600_000) * 3_600_000 - 3 * 3_600_000,
      ).toISOString(),
      minutes: 60,
      rows: 30,
    },
    legacyDownloadsPerMinute: 60,
  });
});
afterAll(() => p.stop());

describe('cron windows', () => {
  it('run from one occurrence to the next, in UTC', () => {
    const at = Date.parse('2026-11-01T01:00:00Z');
    expect(new Date(nextCronMs('0 */6 * * *', at) as number).toISOString()).toBe(
      '2026-11-01T06:00:00.000Z',
    );
    expect(cronIntervalMs('*/30 * * * *')).toBe(1_800_000);
    expect(nextCronMs('not a cron', at)).toBeUndefined();
  });
});

describe('parseEvery', () => {
  it('reads durations and refuses the rest', () => {
    expect(parseEvery('30m')).toBe(1_800_000);
    expect(parseEvery('1d')).toBe(86_400_000);
    expect(parseEvery('0m')).toBeUndefined();
    expect(parseEvery('every hour')).toBeUndefined();
  });
});

describe('schedules', () => {
  it('exports window after window, back to back, and a restart neither skips nor repeats one', async () => {
    const connection = redis.connect({ maxRetriesPerRequest: null });
    const schedules = new ScheduleStore(connection, redis.prefix);
    const queue = createScheduleQueue(connection, redis.prefix);
    const deps = {
      schedules,
      store: p.runtime.deps.store,
      queues: p.runtime.deps.queues,
      logger: p.runtime.deps.logger,
    };
    const startFrom = Math.floor(Date.now() / 1000) * 1000 - 3_000;
    const schedule = await schedules.create({
      spec: { segmentId: 'seg002Xq9', type: 'events', format: 'ndjson' },
      credential: 'default',
      sink: 'duckdb',
      everyMs: 1_000,
      cursor: new Date(startFrom).toISOString(),
    });
    await startSchedule(queue, schedule);
    let worker = createScheduleWorker(deps, {
      connection: redis.connect({ maxRetriesPerRequest: null }),
      prefix: redis.prefix,
    });
    const cursorAt = (ms: number) =>
      eventually(async () => {
        const s = await schedules.get(schedule.id);
        return s && Date.parse(s.cursor) >= ms ? s : undefined;
      });
    await cursorAt(startFrom + 3_000);
    // A restart: the worker goes away mid-stream and a new one picks up from the cursor in Redis.
    await worker.close();
    worker = createScheduleWorker(deps, {
      connection: redis.connect({ maxRetriesPerRequest: null }),
      prefix: redis.prefix,
    });
    await cursorAt(startFrom + 5_000);
    await queue.removeJobScheduler(schedule.id);
    await schedules.remove(schedule.id);
    await worker.close();
    await queue.close();

    const { records } = await p.runtime.deps.store.list({ limit: 100 });
    const windows = records
      .filter((r) => r.spec.segmentId === 'seg002Xq9')
      .map((r) => ({
        start: Date.parse(r.spec.timeRange?.start ?? ''),
        end: Date.parse(r.spec.timeRange?.end ?? ''),
        state: r.state,
      }))
      .sort((a, b) => a.start - b.start);
    const completed = windows.filter((w) => w.state === 'completed');
    expect(completed.length).toBeGreaterThanOrEqual(5);
    expect(new Set(windows.map((w) => w.start)).size).toBe(windows.length);
    completed.forEach((w, i) => {
      expect(w.start).toBe(startFrom + i * 1_000);
      expect(w.end).toBe(w.start + 1_000);
    });
  }, 60_000);

  it('downloads and ingests every new legacy bundle once, moving the cursor past them', async () => {
    const connection = redis.connect({ maxRetriesPerRequest: null });
    const schedules = new ScheduleStore(connection, redis.prefix);
    const deps = {
      schedules,
      store: p.runtime.deps.store,
      queues: p.runtime.deps.queues,
      logger: p.runtime.deps.logger,
      fullstory: p.runtime.deps.fullstory,
      limiter: p.runtime.deps.limiter,
    };
    const schedule = await schedules.create({
      kind: 'bundles',
      spec: { segmentId: 'bundles', type: 'events', format: 'json' },
      credential: 'default',
      sink: 'duckdb',
      everyMs: 60_000,
      cursor: new Date(0).toISOString(),
    });
    expect(await tickSchedule(deps, schedule.id)).toBe('3 bundle(s) started');
    expect(await tickSchedule(deps, schedule.id)).toBe('0 bundle(s) started');
    const { records } = await p.runtime.deps.store.list({ limit: 100 });
    const bundles = records.filter((r) => r.bundleId);
    expect(bundles).toHaveLength(3);
    for (const record of bundles) {
      const done = await p.waitFor(record.id);
      expect(done).toMatchObject({ state: 'completed', rows: 30 });
      const expected = p.sim.stats.exports[`bundle${record.bundleId}`];
      expect(await p.digest('events', record.id)).toEqual({
        count: expected?.rows,
        hash: expected?.hash,
      });
    }
    const after = await schedules.get(schedule.id);
    expect(Date.parse(after?.cursor ?? '')).toBe(Date.parse(bundles[0]?.spec.timeRange?.end ?? ''));
  }, 60_000);

  it('takes cron windows from one occurrence to the next', async () => {
    const schedules = new ScheduleStore(redis.connect(), redis.prefix);
    const deps = {
      schedules,
      store: p.runtime.deps.store,
      queues: p.runtime.deps.queues,
      logger: p.runtime.deps.logger,
    };
    const cursor = Math.floor(Date.now() / 60_000) * 60_000 - 3 * 60_000;
    const schedule = await schedules.create({
      cron: '*/1 * * * *',
      spec: { segmentId: 'seg003Xq9', type: 'events', format: 'csv' },
      credential: 'default',
      sink: 'duckdb',
      everyMs: 60_000,
      cursor: new Date(cursor).toISOString(),
    });
    expect(await tickSchedule(deps, schedule.id)).toBe('started');
    const started = await p.runtime.deps.store.get(
      (await schedules.get(schedule.id))?.currentExportId as string,
    );
    expect(started?.spec.timeRange).toEqual({
      start: new Date(cursor).toISOString(),
      end: new Date(cursor + 60_000).toISOString(),
    });
  });
});
