import { eventually, useTestRedis } from '@fsx/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  createScheduleQueue,
  createScheduleWorker,
  parseEvery,
  ScheduleStore,
  startSchedule,
} from './index.js';
import { startPipeline } from './pipeline-test-helpers.js';

const redis = useTestRedis();
let p: Awaited<ReturnType<typeof startPipeline>>;
beforeAll(async () => {
  p = await startPipeline(redis, { operationMs: 150, rowsPerExport: 20 });
});
afterAll(() => p.stop());

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
});
