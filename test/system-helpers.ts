import { mkdtemp } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { findFreePort } from '@fsx/testing';
import { request } from 'undici';

export const OUTPUT_DIR = path.resolve(import.meta.dirname, '../test-output');

export async function tempDataDir(name: string): Promise<string> {
  return mkdtemp(path.join(os.tmpdir(), `fsx-${name}-`));
}

let authorization: string | undefined;
/** Send this bearer token with every request from here on. */
export function useToken(token: string): void {
  authorization = `Bearer ${token}`;
}

export async function http<T = any>(
  method: 'GET' | 'POST' | 'DELETE',
  url: string,
  body?: unknown,
): Promise<{ status: number; json: T }> {
  const response = await request(url, {
    method,
    headers: {
      ...(authorization ? { authorization } : {}),
      ...(body !== undefined ? { 'content-type': 'application/json' } : {}),
    },
    ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
  });
  const text = await response.body.text();
  return { status: response.statusCode, json: (text ? JSON.parse(text) : undefined) as T };
}

export async function waitForExport(
  intakeUrl: string,
  id: string,
  timeoutMs = 60_000,
  until = ['completed', 'failed', 'cancelled'],
) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const { json } = await http('GET', `${intakeUrl}/v1/exports/${id}`);
    if (until.includes(json.state) || until.includes(json.stage)) return json;
    if (Date.now() > deadline)
      throw new Error(
        `export ${id} still ${json.state}/${json.stage} after ${timeoutMs} ms: ${json.lastError}`,
      );
    await new Promise((r) => setTimeout(r, 100));
  }
}

export { findFreePort };

/** Every string stored under `pattern` in Redis, whatever the key's type. */
export async function redisStrings(url: string, pattern: string): Promise<string[]> {
  const { Redis } = await import('ioredis');
  const redis = new Redis(url);
  const found: string[] = [];
  let cursor = '0';
  do {
    const [next, keys] = await redis.scan(cursor, 'MATCH', pattern, 'COUNT', 500);
    cursor = next;
    for (const key of keys) {
      found.push(key);
      const type = await redis.type(key);
      if (type === 'string') found.push((await redis.get(key)) ?? '');
      else if (type === 'hash') found.push(...Object.entries(await redis.hgetall(key)).flat());
      else if (type === 'list') found.push(...(await redis.lrange(key, 0, -1)));
      else if (type === 'set') found.push(...(await redis.smembers(key)));
      else if (type === 'zset') found.push(...(await redis.zrange(key, 0, -1)));
      else if (type === 'stream') found.push(JSON.stringify(await redis.xrange(key, '-', '+')));
    }
  } while (cursor !== '0');
  redis.disconnect();
  return found;
}
