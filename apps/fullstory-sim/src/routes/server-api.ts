import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { sendApiError } from '../api-error.js';
import type { SimContext } from '../context.js';
import type { BatchKind } from '../server-api/batches.js';
import type { ApiResult } from '../server-api/results.js';

type Query = { uid?: string; page_token?: string; page_size?: string };

function send(reply: FastifyReply, result: ApiResult): FastifyReply {
  if (!result.ok)
    return sendApiError(reply, result.status, result.code, result.message, result.details);
  return reply.code(result.status).send(result.body);
}

function idempotencyKey(request: FastifyRequest): string | undefined {
  const value = request.headers['idempotency-key'];
  return (Array.isArray(value) ? value[0] : value) || undefined;
}

// Batches may carry up to 50,000 requests; single calls are small.
const BATCH_BODY_LIMIT = 64 * 1024 * 1024;

/** FullStory's v2 server API: users, custom events and their batch imports. */
export function serverApiRoutes(app: FastifyInstance, ctx: SimContext): void {
  const config = { guard: 'server' as const };
  const org = (request: FastifyRequest) => ctx.server.org(request.apiKey ?? '');
  const write = (request: FastifyRequest, act: () => ApiResult) =>
    ctx.server.once(org(request), idempotencyKey(request), request, act);

  app.post('/v2/users', { config }, async (request, reply) =>
    send(
      reply,
      write(request, () => org(request).data.upsertUser(request.body)),
    ),
  );
  app.get<{ Querystring: Query }>('/v2/users', { config }, async (request, reply) =>
    send(reply, org(request).data.listUsers(request.query)),
  );
  app.get<{ Params: { id: string } }>('/v2/users/:id', { config }, async (request, reply) =>
    send(reply, org(request).data.getUser(request.params.id)),
  );
  app.post<{ Params: { id: string } }>('/v2/users/:id', { config }, async (request, reply) =>
    send(
      reply,
      write(request, () => org(request).data.updateUser(request.params.id, request.body)),
    ),
  );
  app.post('/v2/events', { config }, async (request, reply) =>
    send(
      reply,
      write(request, () => org(request).data.createEvent(request.body)),
    ),
  );

  for (const kind of ['users', 'events'] as BatchKind[]) {
    app.post(`/v2/${kind}/batch`, { config, bodyLimit: BATCH_BODY_LIMIT }, async (request, reply) =>
      send(
        reply,
        write(request, () => org(request).batches.create(kind, request.body, Date.now())),
      ),
    );
    app.get<{ Params: { jobId: string } }>(
      `/v2/${kind}/batch/:jobId`,
      { config },
      async (request, reply) =>
        send(reply, org(request).batches.status(kind, request.params.jobId, Date.now())),
    );
    for (const which of ['errors', 'imports'] as const) {
      app.get<{ Params: { jobId: string }; Querystring: Query }>(
        `/v2/${kind}/batch/:jobId/${which}`,
        { config },
        async (request, reply) =>
          send(
            reply,
            org(request).batches.listing(
              kind,
              request.params.jobId,
              which,
              request.query,
              Date.now(),
            ),
          ),
      );
    }
  }

  app.get('/__sim/server', async () => ctx.server.dump(Date.now()));
}
