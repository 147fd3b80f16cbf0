import { mkdtemp, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { gzipSync } from 'node:zlib';
import { DuckDBInstance } from '@duckdb/node-api';
import { describe, expect, it } from 'vitest';
import { duckdbLoadSettings, feedsTwoReaders, literal, loadThreads, onOneThread } from './sql.js';

describe('DuckDB load settings', () => {
  it('gives a load one thread per core, as many as its memory limit feeds', () => {
    expect(loadThreads('256MB', 2)).toBe(2);
    expect(loadThreads('256MB', 8)).toBe(3);
    expect(loadThreads('1GB', 8)).toBe(8);
    expect(loadThreads('64MB', 8)).toBe(1);
    expect(duckdbLoadSettings({ threads: 5 }).threads).toBe('5');
  });

  it('runs two readers at once only with two threads, two cores and the memory for both', () => {
    expect(feedsTwoReaders({}, 2)).toBe(true);
    expect(feedsTwoReaders({ memoryLimit: '96MB' }, 8)).toBe(false);
    expect(feedsTwoReaders({ memoryLimit: '1GB', threads: 1 }, 8)).toBe(false);
    expect(feedsTwoReaders({ memoryLimit: '1GB' }, 1)).toBe(false);
  });

  it("on an 8-core machine, the default limit's threads read a big NDJSON file that one per core cannot", async () => {
    // 300k lines of 1 KB: more than eight threads' 32 MiB JSON read buffers.
    const line = JSON.stringify({ IndvId: 1, PageUrl: `https://x.test/${'p'.repeat(1000)}` });
    const file = path.join(await mkdtemp(path.join(os.tmpdir(), 'fsx-threads-')), 'big.ndjson.gz');
    await writeFile(file, gzipSync(`${line}\n`.repeat(300_000), { level: 1 }));
    const keyPass = `SELECT DISTINCT unnest(json_keys(json)) AS k FROM read_json_objects(${literal(file)}, format = 'newline_delimited')`;
    const keysWith = async (settings: Record<string, string>) => {
      const instance = await DuckDBInstance.create(':memory:', settings);
      const db = await instance.connect();
      try {
        return (await db.runAndReadAll(keyPass)).getRowObjectsJS().map((r) => r.k);
      } finally {
        db.closeSync();
        instance.closeSync();
      }
    };
    const settings = duckdbLoadSettings({ threads: loadThreads('256MB', 8) });
    expect((await keysWith(settings)).sort()).toEqual(['IndvId', 'PageUrl']);
    await expect(keysWith({ ...settings, threads: '8' })).rejects.toThrow(/Out of Memory/);
  }, 60_000);

  it('onOneThread puts back the thread count the load had, not one per core', async () => {
    const instance = await DuckDBInstance.create(':memory:', { threads: '3' });
    const db = await instance.connect();
    const threads = async () =>
      Number(
        (await db.runAndReadAll(`SELECT current_setting('threads') AS n`)).getRowObjectsJS()[0]?.n,
      );
    expect(await onOneThread(db, threads)).toBe(1);
    expect(await threads()).toBe(3);
    db.closeSync();
    instance.closeSync();
  });
});
