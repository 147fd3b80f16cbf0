import { DEFAULT_CREDENTIAL, SINK_KINDS } from '@fsx/config';
import {
  cronIntervalMs,
  nextCronMs,
  parseEvery,
  type ScheduleStore,
  startSchedule,
} from '@fsx/pipeline';
import type { Queue } from 'bullmq';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import type { IntakeDeps } from '../deps.js';
import { assertCredential, HttpError } from '../errors.js';
import { errorResponses, scheduleDeleted, scheduleList, scheduleView } from '../http-responses.js';
import { exportFormat, exportType, timestamp } from '../http-schemas.js';

const createScheduleBody = z.strictObject({
  /** `segment` (default): a segment export per window. `bundles`: each new legacy Data Export bundle. */
  kind: z.enum(['segment', 'bundles']).default('segment'),
  segmentId: z
    .string()
    .min(1)
    .max(200)
    .regex(/^[A-Za-z0-9_-]+$/)
    .optional(),
  // The same spellings as an export's (FullStory's TYPE_EVENT, FORMAT_CSV too).
  type: exportType.default('events'),
  format: exportFormat.default('ndjson'),
  every: z
    .string()
    .refine(
      (v) => (parseEvery(v) ?? cronIntervalMs(v) ?? 0) >= 60_000,
      'must be a duration of a minute or more (30m, 1h, 1d) or a cron pattern (0 */6 * * *)',
    ),
  sink: z.enum(SINK_KINDS).optional(),
  credential: z
    .string()
    .regex(/^[A-Za-z0-9_.-]{1,64}$/)
    .optional(),
  startFrom: timestamp.optional(),
});

export interface ScheduleAccess {
  store: ScheduleStore;
  queue: Queue<{ scheduleId: string }>;
}

/** Recurring exports: one export per window, the cursor kept in Redis (see tickSchedule). */
export const scheduleRoutes =
  (deps: IntakeDeps): FastifyPluginAsyncZod =>
  async (app) => {
    const access = () => {
      if (!deps.schedules)
        throw new HttpError(404, 'not_found', 'schedules are not available here');
      return deps.schedules;
    };
    app.post(
      '/v1/schedules',
      {
        schema: {
          summary: 'Create a recurring export',
          body: createScheduleBody,
          response: { 201: scheduleView, ...errorResponses(400, 404) },
        },
      },
      async (request, reply) => {
        const { store, queue } = access();
        const {
          every,
          startFrom,
          sink = deps.defaultSink,
          credential = DEFAULT_CREDENTIAL,
          kind,
          segmentId,
          ...rest
        } = request.body;
        if (kind === 'segment' && !segmentId) {
          throw new HttpError(400, 'invalid_request', 'segmentId is required', [
            { path: 'segmentId', message: 'is required' },
          ]);
        }
        // Bundles are event data, one JSON array each.
        const spec =
          kind === 'bundles'
            ? { segmentId: 'bundles', type: 'events' as const, format: 'json' as const }
            : { ...rest, segmentId: segmentId as string };
        assertCredential(deps.credentials, credential);
        if (!deps.sinks.includes(sink))
          throw new HttpError(400, 'invalid_request', `sink "${sink}" is not available`, [
            { path: 'sink', message: `must be one of: ${deps.sinks.join(', ')}` },
          ]);
        const cron = parseEvery(every) === undefined ? every : undefined;
        const everyMs = parseEvery(every) ?? (cronIntervalMs(every) as number);
        // By default the first window is the last whole one before now.
        const lastWholeStart = cron
          ? (nextCronMs(cron, Date.now() - 2 * everyMs - 1) as number)
          : Math.floor(Date.now() / everyMs) * everyMs - everyMs;
        const cursor = startFrom ?? new Date(lastWholeStart).toISOString();
        const schedule = await store.create({
          ...(cron ? { cron } : {}),
          kind,
          spec,
          sink,
          credential,
          everyMs,
          cursor: new Date(cursor).toISOString(),
        });
        await startSchedule(queue, schedule);
        return reply.code(201).send(schedule);
      },
    );
    app.get(
      '/v1/schedules',
      {
        schema: {
          summary: 'All schedules',
          response: { 200: scheduleList, ...errorResponses(404) },
        },
      },
      async () => ({
        items: await access().store.list(),
      }),
    );
    app.get(
      '/v1/schedules/:id',
      {
        schema: {
          summary: 'One schedule',
          params: z.strictObject({ id: z.uuid() }),
          response: { 200: scheduleView, ...errorResponses(400, 404) },
        },
      },
      async (request) => {
        const schedule = await access().store.get(request.params.id);
        if (!schedule) throw new HttpError(404, 'not_found', 'schedule not found');
        return schedule;
      },
    );
    app.delete(
      '/v1/schedules/:id',
      {
        schema: {
          summary: 'Remove a schedule',
          params: z.strictObject({ id: z.uuid() }),
          response: { 200: scheduleDeleted, ...errorResponses(400, 404) },
        },
      },
      async (request) => {
        const { store, queue } = access();
        await queue.removeJobScheduler(request.params.id);
        if (!(await store.remove(request.params.id)))
          throw new HttpError(404, 'not_found', 'schedule not found');
        return { deleted: true };
      },
    );
  };
