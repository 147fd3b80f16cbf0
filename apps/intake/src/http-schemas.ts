import { SINK_KINDS } from '@fsx/config';
import { normalizeExportFormat, normalizeExportType } from '@fsx/fullstory';
import { EXPORT_STATES, parseEvery } from '@fsx/pipeline';
import { z } from 'zod';

const RFC3339 = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d{1,9})?(Z|[+-]\d\d:\d\d)$/;

export const timestamp = z
  .string()
  .refine(
    (v) => RFC3339.test(v) && !Number.isNaN(Date.parse(v)),
    'must be an RFC 3339 timestamp like 2026-11-01T00:00:00Z',
  );

const timeRange = z
  .strictObject({ start: timestamp.optional(), end: timestamp.optional() })
  .refine((r) => !r.start || !r.end || Date.parse(r.start) < Date.parse(r.end), {
    message: 'start must be before end',
    path: ['start'],
  });

// fsx's names and FullStory's own spellings are both accepted.
export const exportType = z
  .enum(['events', 'individuals', 'TYPE_EVENT', 'TYPE_INDIVIDUAL'])
  .transform((v) => normalizeExportType(v) ?? 'events');
export const exportFormat = z
  .enum(['json', 'ndjson', 'csv', 'FORMAT_JSON', 'FORMAT_NDJSON', 'FORMAT_CSV'])
  .transform((v) => normalizeExportFormat(v) ?? 'json');

const DAY_MS = 86_400_000;
const MAX_BACKFILL_WINDOWS = 400;
const CLOCK_SKEW_MS = 5 * 60_000;

/** The export body. Time ranges must be sane: not in the future, and no longer than `maxSpanDays`. */
export function createExportBodySchema(maxSpanDays: number) {
  return z
    .strictObject({
      segmentId: z
        .string()
        .min(1)
        .max(200)
        .regex(/^[A-Za-z0-9_-]+$/, 'must be a FullStory segment id'),
      type: exportType,
      format: exportFormat.default('json'),
      timeRange: timeRange.optional(),
      segmentTimeRange: timeRange.optional(),
      credential: z
        .string()
        .regex(/^[A-Za-z0-9_.-]{1,64}$/, 'must be a credential name')
        .optional(),
      sink: z.enum(SINK_KINDS).optional(),
      splitBy: z
        .string()
        .refine(
          (v) => (parseEvery(v) ?? 0) >= 3_600_000,
          'must be a duration of an hour or more, like 1d',
        )
        .optional(),
      callbackUrl: z
        .url()
        .max(2_000)
        .refine(
          (u) => /^https:\/\//.test(u) || /^http:\/\/(127\.0\.0\.1|localhost)[:/]/.test(u),
          'must be https (http only on loopback)',
        )
        .optional(),
    })
    .superRefine((body, ctx) => {
      const splitMs = body.splitBy ? parseEvery(body.splitBy) : undefined;
      if (body.splitBy && !body.timeRange?.start) {
        ctx.addIssue({
          code: 'custom',
          path: ['timeRange', 'start'],
          message: 'is required with splitBy',
        });
      }
      if (!body.timeRange) return;
      const now = Date.now();
      const start = body.timeRange.start ? Date.parse(body.timeRange.start) : undefined;
      const end = body.timeRange.end ? Date.parse(body.timeRange.end) : now;
      if (start !== undefined && start > now) {
        ctx.addIssue({
          code: 'custom',
          path: ['timeRange', 'start'],
          message: 'must not be in the future',
        });
      }
      if (end > now + CLOCK_SKEW_MS) {
        ctx.addIssue({
          code: 'custom',
          path: ['timeRange', 'end'],
          message: 'must not be in the future',
        });
      }
      if (
        splitMs !== undefined &&
        start !== undefined &&
        (end - start) / splitMs > MAX_BACKFILL_WINDOWS
      ) {
        ctx.addIssue({
          code: 'custom',
          path: ['splitBy'],
          message: `must split the range into at most ${MAX_BACKFILL_WINDOWS} windows`,
        });
      }
      // A backfill's windows are each an export: the span limit is per window.
      if (start !== undefined && (splitMs ?? end - start) > maxSpanDays * DAY_MS) {
        ctx.addIssue({
          code: 'custom',
          path: ['timeRange'],
          message: `must span at most ${maxSpanDays} days`,
        });
      }
    })
    .meta({
      example: {
        segmentId: 'everyone',
        type: 'events',
        format: 'ndjson',
        timeRange: { start: '2026-11-01T00:00:00Z', end: '2026-11-02T00:00:00Z' },
      },
    });
}
export type CreateExportBody = z.output<ReturnType<typeof createExportBodySchema>>;

export const exportIdParams = z.strictObject({ id: z.uuid('must be an export id') });

/** A page of a newest-first listing: how many, and the `nextCursor` of the page before. */
export const pageQuery = {
  limit: z.coerce.number().int().min(1).max(100).default(20),
  cursor: z.coerce.number().int().min(0).optional(),
};

export const listExportsQuery = z.strictObject({
  state: z.enum(EXPORT_STATES).optional(),
  ...pageQuery,
});

export const idempotencyHeaders = z.object({
  'idempotency-key': z.string().min(1).max(200).optional(),
});
