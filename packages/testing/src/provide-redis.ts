import { existsSync } from 'node:fs';
import { RedisUnavailableError, startRedisServer, waitForPing } from './local-redis.js';

export interface ProvidedRedis {
  url: string;
  source: 'REDIS_URL' | 'testcontainers' | 'redis-server';
  stop(): Promise<void>;
}

const HOW_TO_GET_REDIS = [
  'Tests need a real Redis. Any one of these works:',
  '  - set REDIS_URL=redis://host:port to a running Redis (7 or newer)',
  '  - install redis-server (Debian/Ubuntu: apt-get install redis-server; macOS: brew install redis)',
  '  - run a Docker engine, so testcontainers can start redis:7',
].join('\n');

function dockerMayAnswer(): boolean {
  return Boolean(process.env.DOCKER_HOST) || existsSync('/var/run/docker.sock');
}

async function fromTestcontainers(): Promise<ProvidedRedis | undefined> {
  if (!dockerMayAnswer()) return undefined;
  try {
    const { RedisContainer } = await import('@testcontainers/redis');
    const container = await new RedisContainer('redis:7-alpine').start();
    return {
      url: container.getConnectionUrl(),
      source: 'testcontainers',
      stop: async () => {
        await container.stop();
      },
    };
  } catch {
    return undefined;
  }
}

/**
 * A real Redis for the test run: `REDIS_URL` when set; else a testcontainer when Docker answers;
 * else a `redis-server` from PATH on a free port; else an error that says how to get one.
 */
export async function provideRedis(
  env: Record<string, string | undefined> = process.env,
): Promise<ProvidedRedis> {
  if (env.REDIS_URL) {
    await waitForPing(env.REDIS_URL, 5_000);
    return { url: env.REDIS_URL, source: 'REDIS_URL', stop: async () => {} };
  }
  const container = await fromTestcontainers();
  if (container) return container;
  try {
    const server = await startRedisServer();
    return { url: server.url, source: 'redis-server', stop: () => server.stop() };
  } catch (error) {
    throw new RedisUnavailableError(HOW_TO_GET_REDIS, { cause: error });
  }
}
