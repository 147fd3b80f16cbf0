import {
  DEFAULT_CREDENTIAL,
  loadConfig,
  loadOrExit,
  type SinkKind,
  secretValues,
} from '@fsx/config';
import { createDispatcher, FullStoryClient } from '@fsx/fullstory';
import { createLogger, everySoOften } from '@fsx/logger';
import { availableSinks, createScheduleQueue, ExportStore, ScheduleStore } from '@fsx/pipeline';
import { closeQueues, createRedis, createStageQueues, waitUntilReady } from '@fsx/queues';
import { RateLimiter } from '@fsx/rate-limit';
import { createSendQueue, SendStore } from '@fsx/sends';
import { createWebhookQueue } from '@fsx/webhooks';
import { createApp } from './app.js';

const config = loadOrExit(() => loadConfig());
const LOOPBACK = new Set(['127.0.0.1', 'localhost', '::1']);
if (config.intake.apiTokens.length === 0 && !LOOPBACK.has(config.intake.host)) {
  // The API starts exports with a key that reads every session: never open without a token.
  process.stderr.write(
    `Refusing to listen on ${config.intake.host} without INTAKE_API_TOKENS; set a token or HOST=127.0.0.1\n`,
  );
  process.exit(1);
}
const logger = createLogger({
  name: 'intake',
  level: config.logLevel,
  pretty: config.prettyLogs,
  secrets: secretValues(config),
});
const redis = createRedis(config.redis.url, 'producer');
const connectionProblem = everySoOften(logger, 'warn');
redis.on('error', (error) => connectionProblem({ err: error }, 'Redis connection problem'));
const queues = createStageQueues(redis, config.redis.prefix, {
  onError: (error, stage) => connectionProblem({ err: error, stage }, 'queue connection problem'),
});
if (!(await waitUntilReady(redis)))
  logger.warn({ redis: config.redis.url }, 'Redis not reachable yet; answering 503 until it is');
const credentials = Object.keys(config.fullstory.credentials);
const limiter = new RateLimiter({
  redis,
  prefix: config.redis.prefix,
  quota: config.fullstory.quota,
});
const dispatcher = createDispatcher();
if (credentials.length === 0)
  logger.warn(
    `no FullStory credential configured; exports will be refused until FULLSTORY_API_KEY is set`,
  );
const sinks: SinkKind[] = availableSinks(config);

const app = await createApp({
  redis,
  store: new ExportStore(redis, config.redis.prefix),
  queues,
  logger,
  credentials: credentials.length > 0 ? credentials : [],
  defaultSink: config.sinks.default,
  sinks,
  publicUrl: config.intake.publicUrl,
  apiTokens: config.intake.apiTokens,
  prefix: config.redis.prefix,
  rateLimitPerMinute: config.intake.rateLimitPerMinute,
  maxSpanDays: config.intake.maxSpanDays,
  callbacksEnabled: config.webhooks.callbackSecret !== undefined,
  schedules: {
    store: new ScheduleStore(redis, config.redis.prefix),
    queue: createScheduleQueue(redis, config.redis.prefix),
  },
  sends: {
    store: new SendStore(redis, config.redis.prefix),
    queue: createSendQueue(redis, config.redis.prefix),
    gatherMs: config.sends.gatherMs,
  },
  fullstory: (credential) => {
    const apiKey = config.fullstory.credentials[credential];
    if (!apiKey) return undefined;
    return {
      apiKey,
      limiter,
      client: new FullStoryClient({
        baseUrl: config.fullstory.baseUrl,
        apiKey,
        dispatcher,
        timeoutMs: config.fullstory.requestTimeoutMs,
      }),
    };
  },
  ...(config.webhooks.secret
    ? {
        webhooks: {
          secret: config.webhooks.secret,
          replayWindowSeconds: config.webhooks.replayWindowSeconds,
          queue: createWebhookQueue(redis, config.redis.prefix),
        },
      }
    : {}),
});
await app.listen({ host: config.intake.host, port: config.intake.port }).catch((error: unknown) => {
  // The one start-up failure an operator meets often; the rest keep their stack.
  const inUse = (error as NodeJS.ErrnoException).code === 'EADDRINUSE';
  logger.fatal(
    { err: error },
    inUse
      ? `port ${config.intake.port} on ${config.intake.host} is already in use: stop what holds it or set PORT`
      : 'intake could not listen',
  );
  process.exit(1);
});
logger.info(
  { url: config.intake.publicUrl, credential: DEFAULT_CREDENTIAL },
  `intake listening at ${config.intake.publicUrl}`,
);

const stop = async (signal: string) => {
  logger.info({ signal }, 'shutting down');
  await app.close();
  await closeQueues(queues);
  redis.disconnect();
  process.exit(0);
};
process.once('SIGTERM', () => void stop('SIGTERM'));
process.once('SIGINT', () => void stop('SIGINT'));
