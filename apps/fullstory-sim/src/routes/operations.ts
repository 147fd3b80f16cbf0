import type { FastifyInstance } from 'fastify';
import { sendApiError } from '../api-error.js';
import type { SimContext } from '../context.js';
import { operationView } from '../state.js';
import { downloadLocation, escapeAmpersands } from './download-location.js';

export function operationRoutes(app: FastifyInstance, ctx: SimContext): void {
  app.get<{ Params: { operationId: string } }>(
    '/operations/v1/:operationId',
    { config: { guard: 'api' } },
    async (request, reply) => {
      const operation = ctx.state.operations.get(request.params.operationId);
      if (!operation || operation.apiKey !== request.apiKey) {
        return sendApiError(reply, 404, 'resource_not_found', 'operation not found');
      }
      const view = operationView(operation, Date.now(), ctx.options);
      const exported = ctx.stats.exports[operation.searchExportId];
      if (exported) {
        exported.polls = (exported.polls ?? 0) + 1;
        if (view.state === 'COMPLETED' && exported.completionSeenAtMs === undefined) {
          exported.finishedAtMs = operation.createdAtMs + operation.durationMs;
          exported.durationMs = operation.durationMs;
          exported.completionSeenAtMs = Date.now();
        }
      }
      if (view.state === 'COMPLETED' && ctx.options.directDownloadUrl) {
        // The OpenAPI file's shape: the finished operation carries its download URL.
        const { location, expires } = downloadLocation(ctx, operation, request);
        const body = { ...view, results: { downloadUrl: location, expires } };
        return reply.type('application/json').send(escapeAmpersands(JSON.stringify(body)));
      }
      return view;
    },
  );

  app.get<{ Params: { searchExportId: string } }>(
    '/search/v1/exports/:searchExportId/results',
    { config: { guard: 'api' } },
    async (request, reply) => {
      const operation = ctx.state.exportsById.get(request.params.searchExportId);
      if (!operation || operation.apiKey !== request.apiKey) {
        return sendApiError(reply, 404, 'resource_not_found', 'export not found');
      }
      if (operationView(operation, Date.now(), ctx.options).state !== 'COMPLETED') {
        return sendApiError(reply, 400, 'invalid_argument', 'export is not complete');
      }
      const body = JSON.stringify(downloadLocation(ctx, operation, request));
      return reply.type('application/json').send(escapeAmpersands(body));
    },
  );
}
