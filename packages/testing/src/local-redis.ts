import type { ChildProcess } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { Redis } from 'ioredis';
import { findFreePort } from './free-port.js';
import { COMMAND_NOT_FOUND, spawnTiedToParent } from './tied-spawn.js';

export interface LocalRedis {
  url: string;
  port: number;
  /** Stops the server; with `keepData` its directory survives for a restart. */
  stop(options?: { keepData?: boolean }): Promise<void>;
  /** Starts a server again on the same port and directory (AOF replayed when enabled). */
  restart(): Promise<void>;
}

export interface StartRedisOptions {
  /** @defaultValue a free port */
  port?: number;
  /** Durable mode, as production should run: AOF with fsync every second. @defaultValue false */
  appendOnly?: boolean;
  /** @defaultValue a fresh temporary directory */
  dir?: string;
  /** @defaultValue 'redis-server' */
  binary?: string;
}

export class RedisUnavailableError extends Error {
  readonly code = 'fsx.redis_unavailable';
}

/** Starts a `redis-server` child process on loopback and waits until it answers PING. */
export async function startRedisServer(options: StartRedisOptions = {}): Promise<LocalRedis> {
  const port = options.port ?? (await findFreePort());
  const dir = options.dir ?? (await mkdtemp(path.join(os.tmpdir(), 'fsx-redis-')));
  const ownsDir = options.dir === undefined;
  const url = `redis://127.0.0.1:${port}`;
  let child: ChildProcess | undefined;

  const launch = async () => {
    const args = [
      '--port',
      String(port),
      '--bind',
      '127.0.0.1',
      '--dir',
      dir,
      '--save',
      '',
      '--appendonly',
      options.appendOnly ? 'yes' : 'no',
      '--appendfsync',
      'everysec',
      '--maxmemory-policy',
      'noeviction',
    ];
    child = spawnTiedToParent(options.binary ?? 'redis-server', args, { stdio: 'ignore' });
    const exited = new Promise<never>((_, reject) => {
      child?.once('error', (error) =>
        reject(
          new RedisUnavailableError(`could not run redis-server: ${error.message}`, {
            cause: error,
          }),
        ),
      );
      child?.once('exit', (code) =>
        reject(
          new RedisUnavailableError(
            code === COMMAND_NOT_FOUND
              ? 'could not run redis-server: not found'
              : `redis-server exited with code ${code}`,
          ),
        ),
      );
    });
    exited.catch(() => {});
    await Promise.race([waitForPing(url), exited]);
  };

  const stopChild = async () => {
    const running = child;
    if (!running || running.exitCode !== null) return;
    const exited = new Promise((resolve) => running.once('exit', resolve));
    running.kill('SIGTERM');
    await exited;
  };

  await launch();
  return {
    url,
    port,
    async stop({ keepData = false } = {}) {
      await stopChild();
      if (ownsDir && !keepData) await rm(dir, { recursive: true, force: true });
    },
    async restart() {
      await stopChild();
      await launch();
    },
  };
}

/** Resolves once a Redis at `url` answers PING; rejects after `timeoutMs`. */
export async function waitForPing(url: string, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  while (Date.now() < deadline) {
    const client = new Redis(url, {
      lazyConnect: true,
      maxRetriesPerRequest: 0,
      retryStrategy: () => null,
    });
    client.on('error', () => {});
    try {
      await client.connect();
      await client.ping();
      return;
    } catch (error) {
      lastError = error;
      await sleep(50);
    } finally {
      client.disconnect();
    }
  }
  throw new RedisUnavailableError(`no Redis answered at ${url} within ${timeoutMs} ms`, {
    cause: lastError,
  });
}
