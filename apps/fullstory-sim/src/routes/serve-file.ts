import { createReadStream } from 'node:fs';
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { SimContext } from '../context.js';
import { faultHeader } from '../guard.js';

export interface ServedFile {
  path: string;
  bytes: number;
  fileName: string;
}

function parseRange(
  header: string | undefined,
  size: number,
): { start: number; end: number } | 'invalid' | undefined {
  if (!header) return undefined;
  const match = /^bytes=(\d*)-(\d*)$/.exec(header.trim());
  if (!match || (match[1] === '' && match[2] === '')) return 'invalid';
  let start: number;
  let end: number;
  if (match[1] === '') {
    start = Math.max(0, size - Number(match[2]));
    end = size - 1;
  } else {
    start = Number(match[1]);
    end = match[2] === '' ? size - 1 : Math.min(size - 1, Number(match[2]));
  }
  return start > end || start >= size ? 'invalid' : { start, end };
}

/**
 * Serves a gzipped file the way cloud storage does (raw gzip bytes, no Content-Encoding,
 * Content-Disposition, Range), with the download faults: a reset mid-body after the full
 * Content-Length was promised, or a body cut short (a truncated gzip).
 */
export function serveFile(
  ctx: SimContext,
  request: FastifyRequest,
  reply: FastifyReply,
  file: ServedFile,
) {
  const range = parseRange(request.headers.range, file.bytes);
  if (range === 'invalid') {
    return reply.code(416).header('content-range', `bytes */${file.bytes}`).send();
  }
  const start = range?.start ?? 0;
  const end = range?.end ?? file.bytes - 1;
  const length = Math.max(0, end - start + 1);
  const reset = ctx.faults.decide('reset', faultHeader(request), 'storage');
  const truncate = !reset && ctx.faults.decide('truncate', faultHeader(request), 'storage');
  const sent = truncate ? Math.floor(length * 0.6) : length;
  const status = range ? 206 : 200;

  reply.hijack();
  const raw = reply.raw;
  raw.writeHead(status, {
    'content-type': 'application/gzip',
    'content-length': String(sent),
    'content-disposition': `attachment; filename="${file.fileName}"`,
    'accept-ranges': 'bytes',
    ...(range ? { 'content-range': `bytes ${start}-${end}/${file.bytes}` } : {}),
  });
  if (length === 0) return raw.end();
  const cut = reset ? start + Math.max(1, Math.floor(length * 0.4)) - 1 : start + sent - 1;
  const stream = createReadStream(file.path, { start, end: cut });
  stream.on('error', () => raw.destroy());
  stream.on('end', () => {
    if (reset) {
      // A destroyed socket never reaches onResponse: count it here.
      ctx.stats.countRequest(`${request.method} ${request.routeOptions.url}`, status);
      raw.socket?.destroy();
    } else raw.end();
  });
  stream.pipe(raw, { end: false });
}
