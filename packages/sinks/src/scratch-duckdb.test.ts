import { mkdtemp, readdir } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { withScratchDuckDb } from './scratch-duckdb.js';

describe('the scratch DuckDB the PostgreSQL and files sinks load through', () => {
  it('spills past its memory limit into a folder of its own under tempDir, removed afterwards', async () => {
    const tempDir = path.join(await mkdtemp(path.join(os.tmpdir(), 'fsx-scratch-')), 'tmp');
    const spilled = await withScratchDuckDb(
      { memoryLimit: '96MB', threads: 1, tempDir },
      async (db) => {
        // About 200 MB of rows: more than the limit holds, so some of them go to disk.
        await db.run(
          'CREATE TABLE big AS SELECT range AS id, md5(range::VARCHAR) || md5((range + 1)::VARCHAR) AS pad FROM range(3000000)',
        );
        const files = await db.runAndReadAll('SELECT path FROM duckdb_temporary_files()');
        return files.getRowObjectsJS().map((row) => String(row.path));
      },
    );
    expect(spilled.length).toBeGreaterThan(0);
    for (const file of spilled)
      expect(path.resolve(file).startsWith(`${tempDir}${path.sep}duckdb-`)).toBe(true);
    expect(await readdir(tempDir)).toEqual([]);
  });
});
