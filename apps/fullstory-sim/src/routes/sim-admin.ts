import type { FastifyInstance } from 'fastify';
import { sendApiError } from '../api-error.js';
import type { SimContext } from '../context.js';
import { isFaultKind, isFaultScope } from '../faults.js';

/** The simulator's own endpoints for tests and demos; not part of FullStory's API. */
export function simAdminRoutes(app: FastifyInstance, ctx: SimContext): void {
  app.get('/__sim/stats', async () => ctx.stats.toJSON());

  app.post<{ Body: { kind?: unknown; times?: unknown; rate?: unknown; scope?: unknown } }>(
    '/__sim/faults',
    async (request, reply) => {
      const { kind, times, rate, scope } = request.body ?? {};
      if (!isFaultKind(kind))
        return sendApiError(reply, 400, 'invalid_argument', 'unknown fault kind');
      if (typeof rate === 'number' && rate >= 0 && rate <= 1) ctx.faults.setRate(kind, rate);
      else
        ctx.faults.inject(
          kind,
          typeof times === 'number' && times > 0 ? times : 1,
          isFaultScope(scope) ? scope : undefined,
        );
      return { ok: true };
    },
  );

  app.get('/health', async () => ({ ok: true }));
}
