import { randomBytes } from 'node:crypto';
import { Redis, type RedisOptions } from 'ioredis';
import { afterAll, inject } from 'vitest';

declare module 'vitest' {
  export interface ProvidedContext {
    redisUrl: string;
    postgresUrl: string;
  }
}

export interface TestRedis {
  url: string;
  /** A key prefix of this test file's own, a Redis Cluster hash tag like `{t-1a2b3c4d}`. */
  prefix: string;
  /** A new connection to the test Redis, closed after the file's tests. */
  connect(options?: RedisOptions): Redis;
}

/**
 * Gives a test file the run's real Redis with a prefix of its own, so files run in parallel
 * without seeing each other's keys. Keys under the prefix are deleted after the file.
 */
export function useTestRedis(): TestRedis {
  const url = inject('redisUrl');
  const prefix = `{t-${randomBytes(4).toString('hex')}}`;
  const clients: Redis[] = [];
  afterAll(async () => {
    const cleaner = new Redis(url, { maxRetriesPerRequest: 1 });
    try {
      let cursor = '0';
      do {
        const [next, keys] = await cleaner.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 1000);
        cursor = next;
        if (keys.length > 0) await cleaner.unlink(...keys);
      } while (cursor !== '0');
    } finally {
      cleaner.disconnect();
      for (const client of clients) client.disconnect();
    }
  });
  return {
    url,
    prefix,
    connect(options) {
      const client = new Redis(url, options ?? {});
      clients.push(client);
      return client;
    },
  };
}
