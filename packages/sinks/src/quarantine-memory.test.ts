import { execFile } from 'node:child_process';
import { createWriteStream } from 'node:fs';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { promisify } from 'node:util';
import { createGzip } from 'node:zlib';
import type {} from '@fsx/testing';
import { beforeAll, describe, expect, inject, it } from 'vitest';
import { DuckDbSink, PostgresSink } from './index.js';
import { useFreshSinks } from './sink-test-helpers.js';

// An export whose every row is refused (FullStory changed a field's type) is a quarantine as big
// as the export. It must stream into the sink's quarantine, never gather in Node's heap: each load
// runs in a process whose heap is far smaller than the rows refused.
const ROWS = 25_000;
const HEAP_MB = 64;
const { dir } = useFreshSinks('quarantine-memory');

/** Writes the export, once for every sink's load. */
async function writeRefusedExport(): Promise<string> {
  const file = path.join(dir(), 'refused.ndjson.gz');
  const pad = 'q'.repeat(3_000);
  async function* lines() {
    for (let i = 0; i < ROWS; i++)
      yield `${JSON.stringify({ EventStart: '2024-05-01T00:00:00Z', EventType: 'click', IndvId: i + 1, evt_qty_int: 1.5, page_str: pad })}\n`;
  }
  await pipeline(Readable.from(lines()), createGzip(), createWriteStream(file));
  return file;
}

let file: string;
beforeAll(async () => {
  file = await writeRefusedExport();
});

async function loadInSmallHeap(kind: string, target: string, schema: string) {
  const fixture = path.join(import.meta.dirname, 'fixtures', 'load-once.ts');
  const { stdout } = await promisify(execFile)(
    process.execPath,
    [
      `--max-old-space-size=${HEAP_MB}`,
      '--import',
      'tsx',
      fixture,
      kind,
      target,
      schema,
      file,
      'refused',
      'ndjson',
    ],
    { timeout: 60_000 },
  );
  return JSON.parse(stdout);
}

describe(`a ${ROWS}-row export whose every row is refused (75 MB of raw lines), in a ${HEAP_MB} MB heap`, () => {
  it('PostgreSQL: every row in the quarantine', async () => {
    const schema = `quarantine_memory_${process.pid}`;
    const pg = new PostgresSink({ connectionString: inject('postgresUrl'), schema });
    try {
      await pg.query(`CREATE SCHEMA ${schema}`);
      const result = await loadInSmallHeap('postgres', inject('postgresUrl'), schema);
      expect(result).toMatchObject({ rows: 0, rejected: ROWS });
      const { rows } = await pg.query<{ n: number; lines: number }>(
        `SELECT count(*)::int AS n, count(DISTINCT line)::int AS lines FROM ${schema}.quarantine WHERE export_id = 'refused' AND table_name = 'events' AND length(raw) > 3000`,
      );
      expect(rows).toEqual([{ n: ROWS, lines: ROWS }]);
    } finally {
      await pg.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
      await pg.close();
    }
  }, 90_000);

  it('files: every row in the quarantine file', async () => {
    const target = path.join(dir(), 'files');
    const result = await loadInSmallHeap('files', target, '-');
    expect(result).toMatchObject({ rows: 0, rejected: ROWS });
    const quarantined = (await readFile(path.join(target, 'quarantine', 'refused.ndjson'), 'utf8'))
      .trimEnd()
      .split('\n')
      .map((l) => JSON.parse(l));
    expect(quarantined).toHaveLength(ROWS);
    expect(new Set(quarantined.map((q) => q.line)).size).toBe(ROWS);
    expect(quarantined[0]).toMatchObject({ reason: 'a value of the wrong type' });
  }, 90_000);

  it('DuckDB: every row in the quarantine', async () => {
    const target = path.join(dir(), 'refused.duckdb');
    const result = await loadInSmallHeap('duckdb', target, '-');
    expect(result).toMatchObject({ rows: 0, rejected: ROWS });
    const sink = new DuckDbSink({ path: target });
    try {
      const counted = await sink.withConnection(async (db) =>
        (
          await db.runAndReadAll(
            `SELECT count(*)::INTEGER AS n FROM quarantine WHERE export_id = 'refused'`,
          )
        ).getRowObjectsJS(),
      );
      expect(counted).toEqual([{ n: ROWS }]);
    } finally {
      await sink.close();
    }
  }, 90_000);
});
