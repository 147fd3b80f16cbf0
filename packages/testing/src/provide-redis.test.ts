import { describe, expect, it } from 'vitest';
import { provideRedis, startRedisServer, useTestRedis } from './index.js';

describe('the test Redis', () => {
  const redis = useTestRedis();

  it('is a real Redis that runs Lua and keeps data under this file prefix', async () => {
    const client = redis.connect();
    await client.set(`${redis.prefix}:greeting`, 'hello');
    const viaLua = await client.eval(
      "return redis.call('GET', KEYS[1])",
      1,
      `${redis.prefix}:greeting`,
    );
    expect(viaLua).toBe('hello');
    expect(redis.prefix).toMatch(/^\{t-[0-9a-f]{8}\}$/);
  });

  it('uses REDIS_URL when it is set and says where it came from', async () => {
    const provided = await provideRedis({ REDIS_URL: redis.url });
    expect(provided).toMatchObject({ url: redis.url, source: 'REDIS_URL' });
  });

  it('fails with instructions when REDIS_URL points nowhere', async () => {
    await expect(provideRedis({ REDIS_URL: 'redis://127.0.0.1:1' })).rejects.toThrow(
      /no Redis answered/,
    );
  });
});

describe('startRedisServer', () => {
  it('keeps AOF data across a restart', async () => {
    const server = await startRedisServer({ appendOnly: true });
    const { Redis } = await import('ioredis');
    try {
      const client = new Redis(server.url);
      await client.set('durable', 'yes');
      await client.call('CONFIG', 'SET', 'appendfsync', 'always');
      await client.set('durable', 'still');
      client.disconnect();
      await server.restart();
      const again = new Redis(server.url);
      expect(await again.get('durable')).toBe('still');
      again.disconnect();
    } finally {
      await server.stop();
    }
  });
});
