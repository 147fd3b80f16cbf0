import type { FastifyPluginAsync } from 'fastify';
import type { IntakeDeps } from '../deps.js';

export const healthRoutes =
  (deps: IntakeDeps): FastifyPluginAsync =>
  async (app) => {
    const redisAnswers = async () => {
      try {
        return (await deps.redis.ping()) === 'PONG';
      } catch {
        return false;
      }
    };
    app.get('/health', { schema: { hide: true } }, async (_request, reply) => {
      const ok = await redisAnswers();
      return reply.code(ok ? 200 : 503).send({ ok, redis: ok ? 'up' : 'down' });
    });
    // Ready: Redis answers and every stage queue can be read, so a POST would be queued.
    app.get('/ready', { schema: { hide: true } }, async (_request, reply) => {
      const ok =
        (await redisAnswers()) &&
        (
          await Promise.all(
            Object.values(deps.queues).map((q) =>
              q.getJobCounts('wait').then(
                () => true,
                () => false,
              ),
            ),
          )
        ).every(Boolean);
      return reply.code(ok ? 200 : 503).send({ ready: ok });
    });
  };
