import { setTimeout as sleep } from 'node:timers/promises';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { sendApiError } from './api-error.js';
import { authenticate } from './auth.js';
import type { SimContext } from './context.js';
import type { FaultScope } from './faults.js';

export function faultHeader(request: FastifyRequest): string | string[] | undefined {
  return request.headers['x-sim-fault'];
}

/** Slow and 503 faults, for every guarded route. Returns true when the request was answered. */
export async function applyServerFaults(
  ctx: SimContext,
  request: FastifyRequest,
  reply: FastifyReply,
  scope: FaultScope,
) {
  if (ctx.faults.decide('slow', faultHeader(request), scope)) await sleep(ctx.options.slowMs);
  if (ctx.faults.decide('server_error', faultHeader(request), scope)) {
    sendApiError(
      reply,
      503,
      'service_unavailable',
      'the service is temporarily unavailable, try again',
    );
    return true;
  }
  return false;
}

function tooManyRequests(reply: FastifyReply, retryAfterMs: number) {
  reply.header('retry-after', String(Math.max(1, Math.ceil(retryAfterMs / 1000))));
  return sendApiError(reply, 429, 'too_many_requests', 'rate limit exceeded');
}

/** FullStory's front door: authenticate, take a quota token (429 + Retry-After), then faults. */
export function registerGuard(app: FastifyInstance, ctx: SimContext): void {
  app.addHook('onRequest', async (request, reply) => {
    const guard = request.routeOptions.config?.guard ?? 'none';
    if (guard === 'none') return;
    if (guard === 'api' || guard === 'server') {
      // The export APIs need an Admin or Architect key; the server API takes any key.
      const auth = authenticate(
        request.headers.authorization,
        ctx.options.apiKeys,
        guard === 'api',
      );
      if (!auth.ok) {
        return sendApiError(
          reply,
          auth.status,
          auth.status === 401 ? 'unauthorized' : 'forbidden',
          auth.message,
        );
      }
      request.apiKey = auth.key;
      reply.header('x-fullstory-data-realm', auth.realm);
      const bucket = guard === 'api' ? ctx.quota : ctx.serverQuota;
      const token = bucket.take(auth.key);
      if (!token.granted) return tooManyRequests(reply, token.retryAfterMs);
      if (ctx.faults.decide('rate_limited', faultHeader(request), guard))
        return tooManyRequests(reply, 1_000);
    }
    if (await applyServerFaults(ctx, request, reply, guard)) return reply;
  });

  app.addHook('onResponse', async (request, reply) => {
    const route = request.routeOptions.url ?? 'unmatched';
    ctx.stats.countRequest(`${request.method} ${route}`, reply.statusCode);
  });
}
