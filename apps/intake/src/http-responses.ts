import { EXPORT_STAGES, EXPORT_STATES, exportSpecSchema } from '@fsx/pipeline';
import { SEND_KINDS, SEND_STATES } from '@fsx/sends';
import { z } from 'zod';

// What each route answers, for the OpenAPI document. Tests check every response against these
// (createApp's `checkResponses`); production sends what the route returns, unchecked, so a
// schema a step behind a new field can never turn a good answer into a 500.

const links = z.strictObject({ self: z.string() });
const nullableString = z.string().nullable();

/** The one error body of every route (see registerErrorHandler). */
export const errorBody = z.strictObject({
  error: z.string().describe('a stable code: invalid_request, not_found, unauthorized, …'),
  message: z.string(),
  issues: z
    .array(z.strictObject({ path: z.string(), message: z.string() }))
    .optional()
    .describe('every field problem, for invalid_request'),
});

const ERRORS = {
  400: 'invalid_request: the body, query or path is wrong; `issues` lists every problem',
  401: 'unauthorized: a token is required (INTAKE_API_TOKENS)',
  404: 'not_found',
  409: 'conflict: the export already ended',
  413: 'payload_too_large',
  415: 'unsupported_media_type: send application/json',
  422: 'idempotency_key_reused: the Idempotency-Key was used with a different request',
  429: 'rate_limited: too many requests from this client (INTAKE_RATE_LIMIT_PER_MINUTE)',
  502: "fullstory: FullStory's answer was an error",
  503: 'unavailable: Redis (or the FullStory quota) is busy or down; retry after Retry-After',
} as const;
type ErrorStatus = keyof typeof ERRORS;

/** The error answers of a route: those it names, and those every route can give. */
export function errorResponses(...statuses: ErrorStatus[]) {
  return Object.fromEntries(
    [...new Set<ErrorStatus>([...statuses, 401, 429, 503])].map((status) => [
      status,
      errorBody.describe(ERRORS[status]),
    ]),
  );
}

export const exportAccepted = z.strictObject({
  id: z.string(),
  status: z.enum(EXPORT_STATES),
  links,
});

/** One export, as publicView and exportView show it. */
export const exportViewSchema = z.strictObject({
  id: z.string(),
  state: z.enum(EXPORT_STATES),
  stage: z.enum(EXPORT_STAGES).nullable().describe('where it is; null once it ended'),
  progress: z.number().describe("FullStory's completion percentage, then 100"),
  rows: z.number().nullable(),
  rowsRejected: z.number().describe('rows kept in the quarantine, with the reason'),
  warning: nullableString,
  spec: exportSpecSchema,
  credential: z.string().describe("the credential's name, never its key"),
  sink: z.string(),
  createdAt: z.string(),
  updatedAt: z.string(),
  finishedAt: nullableString,
  lastError: nullableString,
  fullstory: z.strictObject({
    operationId: nullableString,
    searchExportId: nullableString,
    polls: z.number(),
    recreates: z.number(),
    downloadRestarts: z.number(),
  }),
  bytes: z.number().nullable(),
  newColumns: z.array(z.string()),
  extraFields: z.array(z.string()),
  step: z.number(),
  callbackUrl: nullableString,
  children: z
    .array(
      z.strictObject({
        id: z.string(),
        state: z.enum(EXPORT_STATES),
        timeRange: exportSpecSchema.shape.timeRange,
        rows: z.number().nullable(),
      }),
    )
    .optional()
    .describe("a backfill's windows"),
  links: links.optional(),
});

export const exportList = z.strictObject({
  items: z.array(exportViewSchema),
  nextCursor: z.number().optional().describe('pass as ?cursor= for the next page'),
});

export const scheduleView = z.strictObject({
  id: z.string(),
  kind: z.enum(['segment', 'bundles']),
  spec: exportSpecSchema.omit({ timeRange: true }),
  credential: z.string(),
  sink: z.string(),
  everyMs: z.number(),
  cron: z.string().optional(),
  cursor: z.string().describe('end of the last completed window; the next starts here'),
  currentExportId: z.string().optional(),
  attempt: z.number(),
  createdAt: z.string(),
});

export const scheduleList = z.strictObject({ items: z.array(scheduleView) });
export const scheduleDeleted = z.strictObject({ deleted: z.boolean() });

export const segmentList = z.strictObject({
  items: z.array(
    z.strictObject({
      id: z.string(),
      name: z.string(),
      creator: z.string().optional(),
      created: z.string().optional(),
    }),
  ),
});

export const sendAccepted = z.strictObject({
  id: z.string(),
  kind: z.enum(SEND_KINDS),
  items: z.number(),
  links,
});

const sendSummary = {
  id: z.string(),
  kind: z.enum(SEND_KINDS),
  state: z.enum(SEND_STATES),
  items: z.number(),
  sent: z.number(),
  failed: z.number(),
  pending: z.number(),
  createdAt: z.string(),
  finishedAt: nullableString,
  links,
};

export const sendList = z.strictObject({
  items: z.array(z.strictObject(sendSummary)),
  nextCursor: z.number().optional().describe('pass as ?cursor= for the next page'),
});

export const sendView = z.strictObject({
  ...sendSummary,
  failures: z
    .array(z.strictObject({ index: z.number(), code: z.string(), message: z.string() }))
    .describe('the first failed items, with the reason FullStory gave'),
});

export const webhookReceived = z.strictObject({
  received: z.literal(true),
  duplicate: z.boolean().describe('the same delivery was received before; acted on once'),
});
