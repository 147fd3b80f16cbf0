import { randomUUID } from 'node:crypto';
import type { Logger } from '@fsx/logger';
import type { StageQueues } from '@fsx/queues';
import { type Job, Queue, Worker } from 'bullmq';
import { CronExpressionParser } from 'cron-parser';
import type { Redis } from 'ioredis';
import type { PipelineDeps } from './context.js';
import type { ExportSpec } from './export-record.js';
import type { ExportStore } from './export-store.js';
import { submitExport } from './submit.js';

export const SCHEDULE_QUEUE = 'schedule';

/** A recurring export: one export per window of `everyMs`, back to back, from `cursor` on. */
export interface Schedule {
  id: string;
  /** `segment`: a segment export per window. `bundles`: every new legacy Data Export bundle. */
  kind: 'segment' | 'bundles';
  spec: Omit<ExportSpec, 'timeRange'>;
  credential: string;
  sink: string;
  everyMs: number;
  /** A cron pattern (UTC): windows run from one occurrence to the next, instead of `everyMs`. */
  cron?: string;
  /** End of the last window whose export completed; the next window starts here. */
  cursor: string;
  /** The export of the window after the cursor, while it runs. */
  currentExportId?: string;
  /** Tries of the current window (a failed export is tried again, with a new export). */
  attempt: number;
  createdAt: string;
}

/** The first occurrence of a cron pattern (UTC) strictly after `afterMs`; undefined if it is no pattern. */
export function nextCronMs(pattern: string, afterMs: number): number | undefined {
  try {
    return CronExpressionParser.parse(pattern, { currentDate: new Date(afterMs), tz: 'UTC' })
      .next()
      .getTime();
  } catch {
    return undefined;
  }
}

/** Roughly how far apart a cron pattern's occurrences are (for how often to look). */
export function cronIntervalMs(pattern: string): number | undefined {
  const first = nextCronMs(pattern, Date.now());
  const second = first === undefined ? undefined : nextCronMs(pattern, first);
  return first === undefined || second === undefined ? undefined : second - first;
}

/** `30m`, `1h`, `1d`, `45s` → milliseconds; undefined for anything else. */
export function parseEvery(every: string): number | undefined {
  const match = /^(\d+)(s|m|h|d)$/.exec(every.trim());
  if (!match) return undefined;
  const unit = { s: 1_000, m: 60_000, h: 3_600_000, d: 86_400_000 }[
    match[2] as 's' | 'm' | 'h' | 'd'
  ];
  const ms = Number(match[1]) * unit;
  return ms > 0 ? ms : undefined;
}

export class ScheduleStore {
  constructor(
    private readonly redis: Redis,
    private readonly prefix: string,
  ) {}

  private key(id: string) {
    return `${this.prefix}:schedule:${id}`;
  }

  private get index() {
    return `${this.prefix}:schedules`;
  }

  async create(
    input: Omit<Schedule, 'id' | 'createdAt' | 'attempt' | 'kind'> & { kind?: Schedule['kind'] },
  ): Promise<Schedule> {
    const schedule: Schedule = {
      ...input,
      kind: input.kind ?? 'segment',
      id: randomUUID(),
      attempt: 0,
      createdAt: new Date().toISOString(),
    };
    await this.redis
      .multi()
      .set(this.key(schedule.id), JSON.stringify(schedule))
      .sadd(this.index, schedule.id)
      .exec();
    return schedule;
  }

  async get(id: string): Promise<Schedule | undefined> {
    const raw = await this.redis.get(this.key(id));
    return raw ? (JSON.parse(raw) as Schedule) : undefined;
  }

  async save(schedule: Schedule): Promise<void> {
    // Only while it exists: a tick finishing after a DELETE must not bring it back.
    await this.redis.set(this.key(schedule.id), JSON.stringify(schedule), 'XX');
  }

  async list(): Promise<Schedule[]> {
    const ids = await this.redis.smembers(this.index);
    const raws = ids.length ? await this.redis.mget(ids.map((id) => this.key(id))) : [];
    return raws.filter((r): r is string => r !== null).map((r) => JSON.parse(r) as Schedule);
  }

  async remove(id: string): Promise<boolean> {
    const [[, removed] = []] =
      (await this.redis.multi().del(this.key(id)).srem(this.index, id).exec()) ?? [];
    return removed === 1;
  }

  /** One tick at a time per schedule, across every process. */
  async withLock<T>(id: string, work: () => Promise<T>): Promise<T | undefined> {
    const lock = `${this.key(id)}:lock`;
    const token = randomUUID();
    if ((await this.redis.set(lock, token, 'PX', 30_000, 'NX')) === null) return undefined;
    try {
      return await work();
    } finally {
      const current = await this.redis.get(lock);
      if (current === token) await this.redis.del(lock);
    }
  }
}

export function createScheduleQueue(
  connection: Redis,
  prefix: string,
): Queue<{ scheduleId: string }> {
  const queue = new Queue<{ scheduleId: string }>(SCHEDULE_QUEUE, {
    connection,
    prefix,
    defaultJobOptions: { removeOnComplete: { count: 100 }, removeOnFail: { count: 1_000 } },
  });
  queue.on('error', () => {});
  return queue;
}

/** How often a schedule is looked at: often enough to start the next window soon after it closes. */
export function tickEveryMs(everyMs: number): number {
  return Math.max(250, Math.min(60_000, Math.floor(everyMs / 4)));
}

/** Registers (or updates) the BullMQ job scheduler that ticks a schedule. */
export async function startSchedule(
  queue: Queue<{ scheduleId: string }>,
  schedule: Schedule,
): Promise<void> {
  await queue.upsertJobScheduler(
    schedule.id,
    { every: tickEveryMs(schedule.everyMs) },
    { name: 'tick', data: { scheduleId: schedule.id } },
  );
}

export interface ScheduleDeps {
  schedules: ScheduleStore;
  /** For `bundles` schedules, which list bundles at FullStory (one quota token a page). */
  fullstory?: PipelineDeps['fullstory'];
  limiter?: PipelineDeps['limiter'];
  store: ExportStore;
  queues: StageQueues;
  logger: Logger;
  now?: () => number;
}

/**
 * One tick of a schedule. When the window's export completed, the cursor moves to the window's
 * end; when it failed, the window is tried again; when the next window has closed, its export
 * starts. The cursor is in Redis and exports are keyed by window, so a restart (or two ticks at
 * once) neither skips nor repeats a window.
 */
export async function tickSchedule(deps: ScheduleDeps, scheduleId: string): Promise<string> {
  return (
    (await deps.schedules.withLock(scheduleId, async () => {
      const schedule = await deps.schedules.get(scheduleId);
      if (!schedule) return 'gone';
      if (schedule.kind === 'bundles') return tickBundles(deps, schedule);
      if (schedule.currentExportId) {
        const current = await deps.store.get(schedule.currentExportId);
        if (current?.state === 'completed') {
          const from = Date.parse(schedule.cursor);
          const windowEnd = schedule.cron
            ? (nextCronMs(schedule.cron, from) as number)
            : from + schedule.everyMs;
          schedule.cursor = new Date(windowEnd).toISOString();
          schedule.currentExportId = undefined;
          schedule.attempt = 0;
        } else if (current && ['failed', 'cancelled'].includes(current.state)) {
          schedule.currentExportId = undefined;
          schedule.attempt += 1;
        } else {
          return 'waiting for the running window';
        }
      }
      const start = Date.parse(schedule.cursor);
      const end = schedule.cron
        ? (nextCronMs(schedule.cron, start) as number)
        : start + schedule.everyMs;
      if (end > (deps.now ?? Date.now)()) {
        await deps.schedules.save(schedule);
        return 'next window still open';
      }
      const { record } = await submitExport(deps.store, deps.queues, {
        spec: {
          ...schedule.spec,
          timeRange: { start: new Date(start).toISOString(), end: new Date(end).toISOString() },
        },
        credential: schedule.credential,
        sink: schedule.sink,
        idempotencyKey: `schedule:${schedule.id}:${start}:${schedule.attempt}`,
      });
      schedule.currentExportId = record.id;
      await deps.schedules.save(schedule);
      deps.logger.info(
        { scheduleId, exportId: record.id, window: [start, end] },
        'scheduled export started',
      );
      return 'started';
    })) ?? 'another tick is running'
  );
}

/**
 * A `bundles` tick: lists the bundles that closed after the cursor (one quota token), starts a
 * download → ingest export for each (keyed by bundle id, so a repeat tick starts none twice),
 * then moves the cursor to the last bundle's end.
 */
async function tickBundles(deps: ScheduleDeps, schedule: Schedule): Promise<string> {
  if (!deps.fullstory || !deps.limiter) throw new Error('bundles schedules need FullStory access');
  const access = deps.fullstory(schedule.credential);
  const token = await deps.limiter.acquire(access.apiKey);
  if (!token.granted) return 'waiting for a quota token';
  const bundles = await access.client.listBundlesPage(
    Math.floor(Date.parse(schedule.cursor) / 1000),
  );
  let started = 0;
  for (const bundle of bundles) {
    const { created } = await submitExport(deps.store, deps.queues, {
      spec: {
        ...schedule.spec,
        timeRange: {
          start: new Date(bundle.start * 1000).toISOString(),
          end: new Date(bundle.stop * 1000).toISOString(),
        },
      },
      bundleId: bundle.id,
      credential: schedule.credential,
      sink: schedule.sink,
      idempotencyKey: `bundles:${schedule.id}:${bundle.id}`,
    });
    if (created) started += 1;
  }
  const last = bundles.at(-1);
  if (last) schedule.cursor = new Date(last.stop * 1000).toISOString();
  await deps.schedules.save(schedule);
  return `${started} bundle(s) started`;
}

export function createScheduleWorker(
  deps: ScheduleDeps,
  options: { connection: Redis; prefix: string },
) {
  return new Worker<{ scheduleId: string }>(
    SCHEDULE_QUEUE,
    (job: Job<{ scheduleId: string }>) => tickSchedule(deps, job.data.scheduleId),
    { connection: options.connection, prefix: options.prefix, concurrency: 4 },
  );
}
