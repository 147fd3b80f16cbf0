import type { TestProject } from 'vitest/node';
import { provideRedis } from './provide-redis.js';
import './test-redis.js';

/** Vitest global setup: one real Redis for the whole run, handed to every test file. */
export default async function setup(project: TestProject) {
  const redis = await provideRedis();
  process.stdout.write(`[fsx tests] Redis from ${redis.source}: ${redis.url}\n`);
  project.provide('redisUrl', redis.url);
  return () => redis.stop();
}
