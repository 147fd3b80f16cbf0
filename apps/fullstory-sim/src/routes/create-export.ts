import { randomBytes } from 'node:crypto';
import type { FastifyInstance } from 'fastify';
import { type FieldViolation, sendApiError } from '../api-error.js';
import type { SimContext } from '../context.js';
import type { SimFormat } from '../data/encode.js';
import type { SimExportType } from '../data/generate.js';
import type { TimeWindow } from '../data/row.js';
import { faultHeader } from '../guard.js';
import { allSegments } from './segments.js';

// Both documented spellings: the workflow guide's TYPE_/FORMAT_ and the OpenAPI file's lower case.
const TYPES: Record<string, SimExportType> = {
  TYPE_EVENT: 'events',
  TYPE_INDIVIDUAL: 'individuals',
  events: 'events',
  individuals: 'individuals',
};
const FORMATS: Record<string, SimFormat> = {
  FORMAT_JSON: 'json',
  FORMAT_CSV: 'csv',
  FORMAT_NDJSON: 'ndjson',
  json: 'json',
  csv: 'csv',
};
const DAY_MS = 86_400_000;

type Body = Record<string, unknown>;

function parseRange(value: unknown, field: string, problems: FieldViolation[]) {
  if (value === undefined || value === null) return {};
  if (typeof value !== 'object' || Array.isArray(value)) {
    problems.push({ field, description: 'must be an object with start and end' });
    return {};
  }
  const range: { start?: number; end?: number } = {};
  for (const edge of ['start', 'end'] as const) {
    const text = (value as Body)[edge];
    if (text === undefined || text === '') continue; // empty: since forever / until now
    const ms =
      typeof text === 'string' && /^\d{4}-\d\d-\d\dT/.test(text) ? Date.parse(text) : Number.NaN;
    if (Number.isNaN(ms))
      problems.push({ field: `${field}.${edge}`, description: 'must be an RFC 3339 timestamp' });
    else range[edge] = ms;
  }
  if (range.start !== undefined && range.end !== undefined && range.start >= range.end) {
    problems.push({ field, description: 'start must be before end' });
  }
  return range;
}

function validate(body: unknown) {
  const problems: FieldViolation[] = [];
  if (typeof body !== 'object' || body === null || Array.isArray(body)) {
    return { problems: [{ field: '', description: 'body must be a JSON object' }] };
  }
  const b = body as Body;
  if (typeof b.segmentId !== 'string' || b.segmentId === '') {
    problems.push({ field: 'segmentId', description: 'is required' });
  }
  const type = typeof b.type === 'string' ? TYPES[b.type] : undefined;
  if (!type)
    problems.push({
      field: 'type',
      description: `must be one of ${Object.keys(TYPES).join(', ')}`,
    });
  const format =
    b.format === undefined ? 'json' : typeof b.format === 'string' ? FORMATS[b.format] : undefined;
  if (!format)
    problems.push({
      field: 'format',
      description: `must be one of ${Object.keys(FORMATS).join(', ')}`,
    });
  const timeRange = parseRange(b.timeRange, 'timeRange', problems);
  parseRange(b.segmentTimeRange, 'segmentTimeRange', problems);
  if (b.fields !== undefined) {
    const fields = b.fields;
    if (!Array.isArray(fields) || fields.some((f) => typeof f !== 'string')) {
      problems.push({ field: 'fields', description: 'must be an array of field names' });
    } else if (new Set(fields).size !== fields.length) {
      problems.push({ field: 'fields', description: 'must not repeat a field' });
    }
  }
  return { problems, segmentId: b.segmentId as string, type, format, timeRange };
}

export function createExportRoute(app: FastifyInstance, ctx: SimContext): void {
  app.post('/segments/v1/exports', { config: { guard: 'api' } }, async (request, reply) => {
    const parsed = validate(request.body);
    if (parsed.problems.length > 0 || !parsed.type || !parsed.format) {
      const message = parsed.problems
        .map((p) => `${p.field || 'body'} ${p.description}`)
        .join('; ');
      return sendApiError(reply, 400, 'invalid_argument', message, parsed.problems);
    }
    const segment = allSegments(ctx).find((s) => s.id === parsed.segmentId);
    if (!segment) return sendApiError(reply, 404, 'resource_not_found', 'segment not found');

    const now = Date.now();
    const endMs = parsed.timeRange.end ?? now;
    const window: TimeWindow = { startMs: parsed.timeRange.start ?? endMs - 7 * DAY_MS, endMs };
    const index = ctx.state.nextIndex();
    const rowsHeader = Number(request.headers['x-sim-rows']);
    const durationHeader = Number(request.headers['x-sim-operation-ms']);
    const operation = {
      id: `op${index}_${randomBytes(6).toString('base64url')}`,
      searchExportId: `se${index}_${randomBytes(12).toString('base64url')}`,
      createdAtMs: now,
      durationMs:
        Number.isFinite(durationHeader) && durationHeader >= 0
          ? durationHeader
          : ctx.options.operationMs(index),
      fails: ctx.faults.decide('operation_error', faultHeader(request)),
      apiKey: request.apiKey ?? '',
      request: {
        segmentId: segment.id,
        segmentName: segment.name,
        type: parsed.type,
        format: parsed.format,
        window,
        rows:
          Number.isInteger(rowsHeader) && rowsHeader >= 0 ? rowsHeader : ctx.options.rowsPerExport,
      },
    };
    ctx.state.addOperation(operation);
    ctx.stats.operations += 1;
    ctx.stats.exports[operation.searchExportId] = {
      operationId: operation.id,
      segmentId: segment.id,
      type: parsed.type,
      format: parsed.format,
      timeRange: {
        start: new Date(window.startMs).toISOString(),
        end: new Date(window.endMs).toISOString(),
      },
      downloads: 0,
    };
    return { operationId: operation.id };
  });
}
