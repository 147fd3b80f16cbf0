import type { TestProject } from 'vitest/node';
import { providePostgres } from './provide-postgres.js';
import { provideRedis } from './provide-redis.js';
import './test-redis.js';

/** Vitest global setup: one real Redis and one real PostgreSQL for the whole run. */
export default async function setup(project: TestProject) {
  const [redis, postgres] = await Promise.all([provideRedis(), providePostgres()]);
  process.stdout.write(
    `[fsx tests] Redis from ${redis.source}: ${redis.url}; PostgreSQL from ${postgres.source}\n`,
  );
  project.provide('redisUrl', redis.url);
  project.provide('postgresUrl', postgres.url);
  return async () => {
    await Promise.all([redis.stop(), postgres.stop()]);
  };
}
