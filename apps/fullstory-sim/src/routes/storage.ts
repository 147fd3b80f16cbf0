import type { FastifyInstance } from 'fastify';
import type { SimContext } from '../context.js';
import { BUCKET, exportFileName } from './download-location.js';
import { serveFile } from './serve-file.js';

const STORAGE_ROUTE = `/storage/${BUCKET}/:searchExportId/:fileName`;

function expiredTokenXml(expiredAtMs: number): string {
  const at = new Date(expiredAtMs).toISOString().replace(/\.\d+Z$/, '+00:00');
  return `<?xml version='1.0' encoding='UTF-8'?><Error><Code>ExpiredToken</Code><Message>The provided token has expired.</Message><Details>Request signature expired at: ${at}</Details></Error>`;
}

function accessDeniedXml(): string {
  return `<?xml version='1.0' encoding='UTF-8'?><Error><Code>SignatureDoesNotMatch</Code><Message>Access denied.</Message><Details>The request signature we calculated does not match the signature you provided.</Details></Error>`;
}

/** The storage host behind download locations: no auth header, a signed expiring URL instead. */
export function storageRoutes(app: FastifyInstance, ctx: SimContext): void {
  app.get<{
    Params: { searchExportId: string; fileName: string };
    Querystring: Record<string, string>;
  }>(STORAGE_ROUTE, { config: { guard: 'storage' } }, async (request, reply) => {
    const { searchExportId, fileName } = request.params;
    const resource = `/storage/${BUCKET}/${searchExportId}/${fileName}`;
    const until = Number(request.query['X-Fsx-Until']);
    const signature = request.query['X-Goog-Signature'] ?? '';
    const operation = ctx.state.exportsById.get(searchExportId);
    if (!operation || !Number.isFinite(until) || !ctx.state.verify(resource, until, signature)) {
      return reply.code(403).type('application/xml').send(accessDeniedXml());
    }
    if (Date.now() >= until) {
      return reply.code(400).type('application/xml').send(expiredTokenXml(until));
    }
    const file = await ctx.state.exportFile(operation);
    ctx.stats.countDownload(searchExportId, file);
    return serveFile(ctx, request, reply, {
      path: file.path,
      bytes: file.bytes,
      fileName: exportFileName(operation),
    });
  });
}
