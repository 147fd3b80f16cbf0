import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { type DuckDBConnection, DuckDBInstance } from '@duckdb/node-api';
import { type DuckDbLoadOptions, duckdbLoadSettings } from './sql.js';

/**
 * Runs `work` on a fresh in-memory DuckDB, as the PostgreSQL and files sinks load through one.
 * Past its memory limit DuckDB spills to `temp_directory`, which for an in-memory database is
 * `.tmp` under the working directory: a read-only one (`/app` in the Docker image) would fail
 * the load. So each instance spills into a folder of its own under `tempDir` (two instances in one
 * folder would share file names), removed afterwards.
 */
export async function withScratchDuckDb<T>(
  options: DuckDbLoadOptions,
  work: (db: DuckDBConnection, instance: DuckDBInstance) => Promise<T>,
): Promise<T> {
  const root = options.tempDir ?? os.tmpdir();
  await mkdir(root, { recursive: true });
  const spill = await mkdtemp(path.join(root, 'duckdb-'));
  try {
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
  }
}
