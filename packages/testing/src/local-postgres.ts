import { execFile } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import { chown, mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { findFreePort } from './free-port.js';
import { spawnTiedToParent } from './tied-spawn.js';

const run = promisify(execFile);

export interface LocalPostgres {
  url: string;
  stop(): Promise<void>;
}

export class PostgresUnavailableError extends Error {
  readonly code = 'fsx.postgres_unavailable';
}

/** Debian keeps the server binaries out of PATH, under /usr/lib/postgresql/<version>/bin. */
export function findPostgresBin(): string | undefined {
  const root = '/usr/lib/postgresql';
  if (!existsSync(root)) return undefined;
  const versions = readdirSync(root).sort((a, b) => Number(b) - Number(a));
  return versions
    .map((v) => path.join(root, v, 'bin'))
    .find((dir) => existsSync(path.join(dir, 'initdb')));
}

/**
 * A throwaway PostgreSQL cluster on a free loopback port: initdb into a temp dir, trust auth,
 * no fsync (it is for tests). As root, the server runs as the `postgres` user, as initdb demands.
 */
export async function startPostgresServer(): Promise<LocalPostgres> {
  const bin = findPostgresBin();
  if (!bin)
    throw new PostgresUnavailableError(
      'no PostgreSQL server binaries found (Debian: apt-get install postgresql)',
    );
  const port = await findFreePort();
  const dir = await mkdtemp(path.join(os.tmpdir(), 'fsx-pg-'));
  const asRoot = process.getuid?.() === 0;
  if (asRoot)
    await chown(
      dir,
      Number((await run('id', ['-u', 'postgres'])).stdout),
      Number((await run('id', ['-g', 'postgres'])).stdout),
    );
  const as = (command: string, args: string[]) =>
    asRoot ? run('runuser', ['-u', 'postgres', '--', command, ...args]) : run(command, args);
  const data = path.join(dir, 'data');
  await as(path.join(bin, 'initdb'), [
    '-D',
    data,
    '-U',
    'fsx',
    '-A',
    'trust',
    '--no-sync',
    '-E',
    'UTF8',
  ]);
  const server = spawnTiedToParent(
    asRoot ? 'runuser' : path.join(bin, 'postgres'),
    [
      ...(asRoot ? ['-u', 'postgres', '--', path.join(bin, 'postgres')] : []),
      '-D',
      data,
      '-p',
      String(port),
      '-k',
      dir,
      '-c',
      'listen_addresses=127.0.0.1',
      '-c',
      'fsync=off',
      '-c',
      'synchronous_commit=off',
      '-c',
      'full_page_writes=off',
    ],
    { stdio: 'ignore' },
  );
  const url = `postgres://fsx@127.0.0.1:${port}/postgres`;
  const deadline = Date.now() + 20_000;
  for (;;) {
    try {
      await run(path.join(bin, 'pg_isready'), ['-h', '127.0.0.1', '-p', String(port)]);
      break;
    } catch {
      if (server.exitCode !== null || Date.now() > deadline) {
        throw new PostgresUnavailableError(`PostgreSQL did not start on port ${port}`);
      }
      await new Promise((r) => setTimeout(r, 100));
    }
  }
  return {
    url,
    async stop() {
      if (server.exitCode === null) {
        // runuser does not pass signals on: ask the server itself to stop.
        const exited = new Promise((resolve) => server.once('exit', resolve));
        await as(path.join(bin, 'pg_ctl'), ['stop', '-D', data, '-m', 'immediate', '-w']).catch(
          () => server.kill('SIGKILL'),
        );
        await exited;
      }
      await rm(dir, { recursive: true, force: true });
    },
  };
}
