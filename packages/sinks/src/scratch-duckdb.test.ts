import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdir, mkdtemp, readdir, utimes, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { sweepAbandonedSpills, withScratchDuckDb } from './scratch-duckdb.js';

/** About 200 MB of rows: more than 96MB holds, so some of them go to disk. */
const SPILLING_TABLE =
  'CREATE TABLE big AS SELECT range AS id, md5(range::VARCHAR) || md5((range + 1)::VARCHAR) AS pad FROM range(3000000)';

describe('the scratch DuckDB the PostgreSQL and files sinks load through', () => {
  it('spills past its memory limit into a folder of its own under tempDir, removed afterwards', async () => {
    const tempDir = path.join(await mkdtemp(path.join(os.tmpdir(), 'fsx-scratch-')), 'tmp');
    const spilled = await withScratchDuckDb(
      { memoryLimit: '96MB', threads: 1, tempDir },
      async (db) => {
        await db.run(SPILLING_TABLE);
        const files = await db.runAndReadAll('SELECT path FROM duckdb_temporary_files()');
        return files.getRowObjectsJS().map((row) => String(row.path));
      },
    );
    expect(spilled.length).toBeGreaterThan(0);
    for (const file of spilled)
      expect(path.resolve(file).startsWith(`${tempDir}${path.sep}duckdb-`)).toBe(true);
    expect(await readdir(tempDir)).toEqual([]);
  });

  it('sweeps the spill of a load whose process was killed, and no folder a live load or another host may use', async () => {
    const tempDir = path.join(await mkdtemp(path.join(os.tmpdir(), 'fsx-spills-')), 'tmp');
    const killedLoad = spawn(
      process.execPath,
      [
        '--import',
        'tsx',
        '--input-type=module',
        '-e',
        `import { withScratchDuckDb } from ${JSON.stringify(path.join(import.meta.dirname, 'scratch-duckdb.ts'))};
         await withScratchDuckDb({ memoryLimit: '96MB', threads: 1, tempDir: ${JSON.stringify(tempDir)} }, async (db) => {
           await db.run(${JSON.stringify(SPILLING_TABLE)});
           process.stdout.write('spilled\\n');
           await new Promise(() => {});
         });`,
      ],
      { stdio: ['ignore', 'pipe', 'inherit'] },
    );
    await once(killedLoad.stdout, 'data');
    killedLoad.kill('SIGKILL');
    await once(killedLoad, 'exit');
    const [left, ...none] = await readdir(tempDir);
    expect(none).toEqual([]);
    expect(await readdir(path.join(tempDir, String(left)))).not.toEqual([]);

    // Another host's folders on a shared disk: one in use, one nothing has touched for two days.
    const busy = 'duckdb-1@elsewhere.abcdef';
    const idle = 'duckdb-2@elsewhere.ghijkl';
    for (const name of [busy, idle]) {
      await mkdir(path.join(tempDir, name));
      await writeFile(path.join(tempDir, name, 'duckdb_temp_storage-0.tmp'), 'x');
    }
    const twoDaysAgo = new Date(Date.now() - 48 * 3_600_000);
    for (const p of [
      path.join(tempDir, idle, 'duckdb_temp_storage-0.tmp'),
      path.join(tempDir, idle),
    ])
      await utimes(p, twoDaysAgo, twoDaysAgo);

    // What this process's pid left before a restart (a container's worker keeps its pid).
    const earlierLife = `duckdb-${process.pid}@${os.hostname()}.a1b2c3`;
    await mkdir(path.join(tempDir, earlierLife));

    // Swept while a load of this process has its own folder there.
    const swept = await withScratchDuckDb({ memoryLimit: '96MB', threads: 1, tempDir }, () =>
      sweepAbandonedSpills(tempDir),
    );
    expect(swept.sort()).toEqual([String(left), idle, earlierLife].sort());
    expect(await readdir(tempDir)).toEqual([busy]);
  }, 60_000);
});
