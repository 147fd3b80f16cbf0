import { createHash } from 'node:crypto';
import rateLimit from '@fastify/rate-limit';
import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import Fastify, { type FastifyBaseLogger, type FastifyInstance } from 'fastify';
import {
  jsonSchemaTransform,
  serializerCompiler,
  validatorCompiler,
  type ZodTypeProvider,
} from 'fastify-type-provider-zod';
import { presentedToken, registerAuth } from './auth.js';
import type { IntakeDeps } from './deps.js';
import { registerErrorHandler } from './errors.js';
import { registerBullBoard } from './routes/bull-board.js';
import { exportRoutes } from './routes/exports.js';
import { healthRoutes } from './routes/health.js';
import { metricsRoutes } from './routes/metrics.js';
import { scheduleRoutes } from './routes/schedules.js';
import { segmentRoutes } from './routes/segments.js';
import { sendRoutes } from './routes/sends.js';
import { webhookRoutes } from './routes/webhooks.js';

/** The intake API as a Fastify instance, ready to `inject` in tests or `listen` in main.ts. */
export async function createApp(deps: IntakeDeps): Promise<FastifyInstance> {
  const app = Fastify({
    loggerInstance: deps.logger as FastifyBaseLogger,
    bodyLimit: 64 * 1024,
    routerOptions: { maxParamLength: 200 },
    trustProxy: false,
  }).withTypeProvider<ZodTypeProvider>();
  app.setValidatorCompiler(validatorCompiler);
  // Responses are checked against their documented schemas in tests only (see checkResponses).
  app.setSerializerCompiler(
    deps.checkResponses ? serializerCompiler : () => (data: unknown) => JSON.stringify(data),
  );
  registerErrorHandler(app);
  registerAuth(app, deps.apiTokens);
  await app.register(rateLimit, {
    max: deps.rateLimitPerMinute,
    timeWindow: 60_000,
    redis: deps.redis,
    nameSpace: `${deps.prefix}:intake-rate:`,
    // Counted per client: its token (hashed) when it has one, else its address.
    keyGenerator: (request) => {
      const token = presentedToken(request);
      return token ? createHash('sha256').update(token).digest('hex').slice(0, 16) : request.ip;
    },
    allowList: (request) => request.url === '/health',
    // Redis down must not make every request a 500; the routes answer 503 themselves.
    skipOnError: true,
  });

  await app.register(swagger, {
    openapi: {
      info: {
        title: 'fsx intake API',
        version: '0.1.0',
        description: 'Start and follow FullStory exports.',
      },
    },
    transform: jsonSchemaTransform,
  });
  await app.register(swaggerUi, { routePrefix: '/docs' });
  await app.register(healthRoutes(deps));
  await app.register(exportRoutes(deps));
  await app.register(webhookRoutes(deps));
  await app.register(metricsRoutes(deps));
  await app.register(segmentRoutes(deps));
  await app.register(scheduleRoutes(deps));
  await app.register(sendRoutes(deps));
  await registerBullBoard(app, deps);
  return app;
}
