import { DEFAULT_CREDENTIAL } from '@fsx/config';
import {
  cancelBackfill,
  cancelExport,
  ExportStore,
  exportView,
  parseEvery,
  submitBackfill,
  submitExport,
} from '@fsx/pipeline';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import type { IntakeDeps } from '../deps.js';
import { assertCredential, HttpError } from '../errors.js';
import { errorResponses, exportAccepted, exportList, exportViewSchema } from '../http-responses.js';
import {
  createExportBodySchema,
  exportIdParams,
  idempotencyHeaders,
  listExportsQuery,
} from '../http-schemas.js';

export const exportRoutes =
  (deps: IntakeDeps): FastifyPluginAsyncZod =>
  async (app) => {
    const links = (id: string) => ({ self: `${deps.publicUrl}/v1/exports/${id}` });
    const createExportBody = createExportBodySchema(deps.maxSpanDays);

    app.post(
      '/v1/exports',
      {
        schema: {
          summary: 'Start an export',
          description:
            'Validates, records and enqueues an export. A repeated Idempotency-Key returns the first export.',
          body: createExportBody,
          headers: idempotencyHeaders,
          response: { 202: exportAccepted, ...errorResponses(400, 413, 415, 422) },
        },
      },
      async (request, reply) => {
        const { credential = DEFAULT_CREDENTIAL, sink = deps.defaultSink, ...spec } = request.body;
        assertCredential(deps.credentials, credential);
        if (!deps.sinks.includes(sink)) {
          throw new HttpError(400, 'invalid_request', `sink "${sink}" is not available`, [
            { path: 'sink', message: `must be one of: ${deps.sinks.join(', ')}` },
          ]);
        }
        if (spec.callbackUrl && !deps.callbacksEnabled) {
          throw new HttpError(
            400,
            'invalid_request',
            'callbacks are off here (the server has no CALLBACK_SIGNING_SECRET)',
            [{ path: 'callbackUrl', message: 'not accepted by this server' }],
          );
        }
        const idempotencyKey = request.headers['idempotency-key'];
        const { callbackUrl, splitBy, ...exportSpec } = spec;
        const input = {
          spec: exportSpec,
          ...(callbackUrl ? { callbackUrl } : {}),
          credential,
          sink,
          ...(idempotencyKey ? { idempotencyKey } : {}),
        };
        const { record, created } = splitBy
          ? await submitBackfill(deps.store, deps.queues, {
              ...input,
              splitMs: parseEvery(splitBy) as number,
            })
          : await submitExport(deps.store, deps.queues, input);
        request.log.info(
          { exportId: record.id, created },
          created ? 'export accepted' : 'idempotent replay',
        );
        return reply
          .code(202)
          .header('location', links(record.id).self)
          .header('idempotent-replayed', String(!created))
          .send({ id: record.id, status: record.state, links: links(record.id) });
      },
    );

    app.get(
      '/v1/exports/:id',
      {
        schema: {
          summary: 'One export',
          params: exportIdParams,
          response: { 200: exportViewSchema, ...errorResponses(400, 404) },
        },
      },
      async (request) => {
        const record = await deps.store.get(request.params.id);
        if (!record) throw new HttpError(404, 'not_found', `export ${request.params.id} not found`);
        return { ...(await exportView(deps.store, record)), links: links(record.id) };
      },
    );

    app.get(
      '/v1/exports',
      {
        schema: {
          summary: 'Exports, newest first',
          querystring: listExportsQuery,
          response: { 200: exportList, ...errorResponses(400) },
        },
      },
      async (request) => {
        const { records, nextCursor } = await deps.store.list(request.query);
        return {
          items: await Promise.all(records.map((r) => exportView(deps.store, r))),
          ...(nextCursor !== undefined ? { nextCursor } : {}),
        };
      },
    );

    app.delete(
      '/v1/exports/:id',
      {
        schema: {
          summary: 'Cancel an export',
          params: exportIdParams,
          response: { 200: exportViewSchema, ...errorResponses(400, 404, 409) },
        },
      },
      async (request) => {
        const existing = await deps.store.get(request.params.id);
        if (!existing)
          throw new HttpError(404, 'not_found', `export ${request.params.id} not found`);
        if (ExportStore.isTerminal(existing) && existing.state !== 'cancelled') {
          throw new HttpError(409, 'conflict', `export ${existing.id} already ${existing.state}`);
        }
        const record = existing.children
          ? await cancelBackfill(deps.store, deps.queues, existing)
          : await cancelExport(deps.store, deps.queues, existing.id);
        return exportView(deps.store, record ?? existing);
      },
    );
  };
