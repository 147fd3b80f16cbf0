import { randomBytes } from 'node:crypto';
import { mkdtemp, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { gzipSync } from 'node:zlib';
import { generateExportFile } from '@fsx/fullstory-sim';
import type {} from '@fsx/testing';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { DuckDbSink, type FileFormat, FilesSink, PostgresSink } from './index.js';

// A quiet time window exports no rows at all: the export must complete with none, and a re-run
// that now finds none must leave none of the rows its first run loaded.
const EMPTY: [string, FileFormat, string][] = [
  ['an empty NDJSON file', 'ndjson', ''],
  ['an empty JSON array', 'json', '[]\n'],
  ['a CSV with only its header', 'csv', 'IndvId,EventStart,EventType\n'],
  ['a CSV without even a header', 'csv', ''],
];

let dir: string;
const schema = `e_${randomBytes(4).toString('hex')}`;
let pg: PostgresSink;
beforeAll(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'fsx-empty-'));
  pg = new PostgresSink({ connectionString: inject('postgresUrl'), schema });
  await pg.query(`CREATE SCHEMA ${schema}`);
});
afterAll(async () => {
  await pg.query(`DROP SCHEMA ${schema} CASCADE`);
  await pg.close();
});

const sinks = {
  duckdb: () => new DuckDbSink({ path: path.join(dir, 'empty.duckdb') }),
  postgres: () => pg,
  files: () => new FilesSink({ dir: path.join(dir, 'files') }),
};

describe.each(Object.keys(sinks) as (keyof typeof sinks)[])('%s sink', (name) => {
  it.each(EMPTY)('loads %s as no rows, replacing what the export held', async (_, format, text) => {
    const sink = sinks[name]();
    const exportId = `empty-${format}-${text.length}`;
    const earlier = path.join(dir, `${name}-${exportId}-earlier.ndjson.gz`);
    await generateExportFile({ path: earlier, type: 'events', format: 'ndjson', rows: 20 });
    await sink.load({ exportId, kind: 'events', format: 'ndjson', file: earlier });
    expect((await sink.digest('events', exportId)).count).toBe(20);

    const file = path.join(dir, `${name}-${exportId}.${format}.gz`);
    await writeFile(file, gzipSync(text));
    const result = await sink.load({ exportId, kind: 'events', format, file });
    // Nothing new either: no column made up for a file that names none (DuckDB calls a CSV
    // without a header `column0`).
    expect(result).toMatchObject({ rows: 0, rejected: 0, newColumns: [] });
    expect((await sink.digest('events', exportId)).count).toBe(0);
  });

  it('quarantines every line of an NDJSON file in which no line is a row', async () => {
    const sink = sinks[name]();
    const file = path.join(dir, `${name}-all-broken.ndjson.gz`);
    await writeFile(file, gzipSync('{"IndvId": 1, broken\nnot json at all\n'));
    const result = await sink.load({
      exportId: 'all-broken',
      kind: 'events',
      format: 'ndjson',
      file,
    });
    expect(result).toMatchObject({ rows: 0, rejected: 2 });
  });
});
