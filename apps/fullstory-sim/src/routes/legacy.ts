import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { sendApiError } from '../api-error.js';
import type { SimContext } from '../context.js';
import type { SimOperation } from '../state.js';
import { serveFile } from './serve-file.js';

const MAX_LISTED = 20;
const ID_BASE = 100_000_000;

/** Bundles close every `minutes` from the origin; only those already closed exist. */
function bundlesAfter(ctx: SimContext, startSec: number, nowMs: number) {
  const { originMs, minutes } = ctx.options.bundles;
  const spanMs = minutes * 60_000;
  const closed = Math.floor((nowMs - originMs) / spanMs);
  const first = Math.max(0, Math.floor((startSec * 1000 - originMs) / spanMs));
  const list: { Start: number; Stop: number; ID: number }[] = [];
  for (let k = first; k < closed && list.length < MAX_LISTED; k++) {
    const start = originMs + k * spanMs;
    if ((start + spanMs) / 1000 <= startSec) continue;
    list.push({ Start: start / 1000, Stop: (start + spanMs) / 1000, ID: ID_BASE + k });
  }
  return list;
}

function readParam(request: FastifyRequest, name: string): unknown {
  const query = request.query as Record<string, unknown>;
  const body = (request.body ?? {}) as Record<string, unknown>;
  return request.method === 'POST' ? body[name] : query[name];
}

/** The legacy Data Export API: list bundles from a cursor, download one (its own 2/min limit). */
export function legacyRoutes(app: FastifyInstance, ctx: SimContext): void {
  const list = async (request: FastifyRequest, reply: FastifyReply) => {
    const start = Number(readParam(request, 'start'));
    if (!Number.isFinite(start) || start < 0) {
      return sendApiError(
        reply,
        400,
        'invalid_argument',
        'start must be a unix timestamp in seconds',
      );
    }
    return { exports: bundlesAfter(ctx, start, Date.now()) };
  };
  app.get('/api/v1/export/list', { config: { guard: 'api' } }, list);
  app.post('/api/v1/export/list', { config: { guard: 'api' } }, list);

  const get = async (request: FastifyRequest, reply: FastifyReply) => {
    const id = Number(readParam(request, 'id'));
    const { originMs, minutes, rows } = ctx.options.bundles;
    const k = id - ID_BASE;
    const startMs = originMs + k * minutes * 60_000;
    if (!Number.isInteger(k) || k < 0 || startMs + minutes * 60_000 > Date.now()) {
      return sendApiError(reply, 404, 'resource_not_found', 'bundle not found');
    }
    const download = ctx.legacyDownloads.take(request.apiKey ?? '');
    if (!download.granted) {
      reply.header('retry-after', String(Math.max(1, Math.ceil(download.retryAfterMs / 1000))));
      return sendApiError(
        reply,
        429,
        'too_many_requests',
        'export downloads are limited to 2 a minute',
      );
    }
    const bundle: SimOperation = {
      id: `bundle${id}`,
      searchExportId: `bundle${id}`,
      createdAtMs: startMs,
      durationMs: 0,
      fails: false,
      apiKey: request.apiKey ?? '',
      request: {
        segmentId: 'everyone',
        segmentName: 'DataExport',
        type: 'events',
        format: 'json',
        window: { startMs, endMs: startMs + minutes * 60_000 },
        rows,
      },
    };
    const file = await ctx.state.exportFile(bundle);
    ctx.stats.exports[bundle.searchExportId] ??= {
      operationId: bundle.id,
      segmentId: 'everyone',
      type: 'events',
      format: 'json',
      timeRange: {
        start: new Date(bundle.request.window.startMs).toISOString(),
        end: new Date(bundle.request.window.endMs).toISOString(),
      },
      downloads: 0,
    };
    ctx.stats.countDownload(bundle.searchExportId, file);
    return serveFile(ctx, request, reply, {
      path: file.path,
      bytes: file.bytes,
      fileName: 'DataExport.json.gz',
    });
  };
  app.get('/api/v1/export/get', { config: { guard: 'api' } }, get);
  app.post('/api/v1/export/get', { config: { guard: 'api' } }, get);
}
