export { eventually } from './eventually.js';
export { findFreePort } from './free-port.js';
export {
  findPostgresBin,
  type LocalPostgres,
  PostgresUnavailableError,
  startPostgresServer,
} from './local-postgres.js';
export {
  type LocalRedis,
  RedisUnavailableError,
  type StartRedisOptions,
  startRedisServer,
  waitForPing,
} from './local-redis.js';
export { type ProvidedPostgres, providePostgres } from './provide-postgres.js';
export { type ProvidedRedis, provideRedis } from './provide-redis.js';
export { type TestRedis, useTestRedis } from './test-redis.js';
export { spawnTiedToParent } from './tied-spawn.js';
