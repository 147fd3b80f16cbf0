import { Redis, type RedisOptions } from 'ioredis';

/**
 * Workers block on Redis and must ride out a restart: no per-command retry limit. Producers (the
 * intake) fail fast instead, so an HTTP caller gets a 503 rather than a hung request.
 */
export function createRedis(
  url: string,
  role: 'worker' | 'producer',
  options: RedisOptions = {},
): Redis {
  const roleOptions: RedisOptions =
    role === 'worker'
      ? { maxRetriesPerRequest: null, enableReadyCheck: true }
      : { maxRetriesPerRequest: 1, enableOfflineQueue: false, connectTimeout: 5_000 };
  return new Redis(url, { ...roleOptions, ...options });
}

/** Resolves once `redis` is connected; false after `timeoutMs` (the caller decides what that means). */
export function waitUntilReady(redis: Redis, timeoutMs = 5_000): Promise<boolean> {
  if (redis.status === 'ready') return Promise.resolve(true);
  return new Promise((resolve) => {
    const timer = setTimeout(() => {
      redis.off('ready', onReady);
      resolve(false);
    }, timeoutMs);
    const onReady = () => {
      clearTimeout(timer);
      resolve(true);
    };
    redis.once('ready', onReady);
  });
}
