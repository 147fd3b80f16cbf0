import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import Fastify, { type FastifyBaseLogger, type FastifyInstance } from 'fastify';
import {
  jsonSchemaTransform,
  serializerCompiler,
  validatorCompiler,
  type ZodTypeProvider,
} from 'fastify-type-provider-zod';
import type { IntakeDeps } from './deps.js';
import { registerErrorHandler } from './errors.js';
import { registerBullBoard } from './routes/bull-board.js';
import { exportRoutes } from './routes/exports.js';
import { healthRoutes } from './routes/health.js';

/** The intake API as a Fastify instance, ready to `inject` in tests or `listen` in main.ts. */
export async function createApp(deps: IntakeDeps): Promise<FastifyInstance> {
  const app = Fastify({
    loggerInstance: deps.logger as FastifyBaseLogger,
    bodyLimit: 64 * 1024,
    trustProxy: false,
  }).withTypeProvider<ZodTypeProvider>();
  app.setValidatorCompiler(validatorCompiler);
  app.setSerializerCompiler(serializerCompiler);
  registerErrorHandler(app);

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
  await registerBullBoard(app, deps);
  return app;
}
