import { randomBytes } from 'node:crypto';
import { mkdir, readdir, rm, stat } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { type DuckDBConnection, DuckDBInstance } from '@duckdb/node-api';
import { type DuckDbLoadOptions, duckdbLoadSettings } from './sql.js';

const SPILL_PREFIX = 'duckdb-';

/** This process's spill folders in use. */
const liveSpills = new Set<string>();

/**
 * Runs `work` on a fresh in-memory DuckDB, as the PostgreSQL and files sinks load through one.
 * Past its memory limit DuckDB spills to `temp_directory`, which for an in-memory database is
 * `.tmp` under the working directory: a read-only one (`/app` in the Docker image) would fail
 * the load. So each instance spills into a folder of its own under `tempDir` (two instances in one
 * folder would share file names), removed afterwards, or by sweepAbandonedSpills when the process
 * dies first.
 */
export async function withScratchDuckDb<T>(
  options: DuckDbLoadOptions,
  work: (db: DuckDBConnection, instance: DuckDBInstance) => Promise<T>,
): Promise<T> {
  const root = options.tempDir ?? os.tmpdir();
  await mkdir(root, { recursive: true });
  // Named by process and host for sweepAbandonedSpills, and known live before it exists.
  const name = `${SPILL_PREFIX}${process.pid}@${os.hostname()}.${randomBytes(3).toString('hex')}`;
  const spill = path.join(root, name);
  liveSpills.add(name);
  try {
    await mkdir(spill);
    const instance = await DuckDBInstance.create(':memory:', {
      ...duckdbLoadSettings(options),
      temp_directory: spill,
    });
    const db = await instance.connect();
    try {
      return await work(db, instance);
    } finally {
      db.closeSync();
      instance.closeSync();
    }
  } finally {
    await rm(spill, { recursive: true, force: true });
    liveSpills.delete(name);
  }
}

/** A spill folder nothing has written to for this long belongs to no load. */
export const SPILL_IDLE_MS = 24 * 3_600_000;

/**
 * Removes the spill folders under `tempDir` of loads whose process died (OOM-killed, SIGKILL)
 * before removing them, and returns their names: a load's spill can be gigabytes. A folder of
 * this host is abandoned when its process is gone, or when it has this process's pid and is
 * not in use (a container restarted after an OOM kill runs its worker under the same pid); one
 * of another host sharing the disk, or from before folders were named by host and process, when
 * nothing in it has changed for `idleMs`, which also covers a pid another process has taken.
 */
export async function sweepAbandonedSpills(
  tempDir: string,
  idleMs = SPILL_IDLE_MS,
): Promise<string[]> {
  const names = await readdir(tempDir).catch(() => []);
  const swept: string[] = [];
  for (const name of names.filter((n) => n.startsWith(SPILL_PREFIX))) {
    const folder = path.join(tempDir, name);
    const owner = /^duckdb-(\d+)@(.+)\.[^.]{6}$/.exec(name);
    const pid = Number(owner?.[1]);
    const abandoned =
      owner?.[2] === os.hostname() && pid === process.pid
        ? !liveSpills.has(name)
        : (owner?.[2] === os.hostname() && !isRunning(pid)) ||
          Date.now() - (await lastWrite(folder)) > idleMs;
    if (!abandoned) continue;
    await rm(folder, { recursive: true, force: true });
    swept.push(name);
  }
  return swept;
}

function isRunning(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** When the folder or a file in it last changed (DuckDB writes its spill files flat). */
async function lastWrite(folder: string): Promise<number> {
  const names = await readdir(folder).catch(() => []);
  const times = await Promise.all(
    [folder, ...names.map((n) => path.join(folder, n))].map((p) =>
      stat(p).then(
        (s) => s.mtimeMs,
        () => 0,
      ),
    ),
  );
  return Math.max(...times);
}
