import { randomBytes } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { mkdtemp } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { createGzip } from 'node:zlib';
import { DuckDBInstance } from '@duckdb/node-api';
import type {} from '@fsx/testing';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { DuckDbSink, FilesSink, type LoadResult, PostgresSink, type Sink } from './index.js';

// DuckDB reads and parses 2,048 rows at a time on each thread, so what a load needs goes with
// the width of a row, not the size of the file: at the default 256MB on two threads, rows of
// 16–64 KB (big custom properties) outgrew the memory limit where rows of 1 KB never do.
const ID = 9007199254740993n;
const row = (i: number, width: number, extra: Record<string, string> = {}) =>
  `${JSON.stringify({
    IndvId: '#ID#',
    EventStart: '2026-11-01T00:00:01.250Z',
    EventType: 'click',
    EventTargetText: `t${String(i).padStart(7, '0')}`.repeat(width / 8),
    ...extra,
  }).replace('"#ID#"', String(ID + BigInt(i)))}\n`;

async function writeExport(
  file: string,
  rows: number,
  line: (i: number) => string,
  layout: 'ndjson' | 'array' = 'ndjson',
) {
  const lines = (function* () {
    if (layout === 'array') yield '[';
    for (let i = 0; i < rows; i++)
      yield layout === 'array' ? `${i ? ',' : ''}${line(i).trimEnd()}` : line(i);
    if (layout === 'array') yield ']';
  })();
  await pipeline(Readable.from(lines), createGzip(), createWriteStream(file));
}

let dir: string;
const WIDE = { rows: 1_500, width: 64 * 1024 };
const BROKEN_AT = 700;
// A field first sent after the sample sends the load the plain way, whose pass over the whole
// file for its fields ran out of memory on two threads at this width and fits on one.
const LATE = { rows: 12_000, width: 16 * 1024, at: 11_000 };
const ARRAY = { rows: 3_000, width: 16 * 1024 };
const schema = `s_${randomBytes(4).toString('hex')}`;
let pg: PostgresSink;
beforeAll(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'fsx-wide-'));
  await writeExport(path.join(dir, 'wide.ndjson.gz'), WIDE.rows, (i) => row(i, WIDE.width));
  // A broken line: the careful path's checks of every line in SQL ran out of 256MB at this width.
  await writeExport(path.join(dir, 'broken.ndjson.gz'), WIDE.rows, (i) =>
    i === BROKEN_AT ? `${row(i, WIDE.width).slice(0, 30_000)}\n` : row(i, WIDE.width),
  );
  // A value of the wrong type: the careful path's JSON functions ran out of 256MB at this width
  // behind a filter of the lines, and the whole file was refused.
  await writeExport(path.join(dir, 'mistyped.ndjson.gz'), WIDE.rows, (i) =>
    i === BROKEN_AT
      ? row(i, WIDE.width).replace(/^\{"IndvId":\d+/, '{"IndvId":1.5')
      : row(i, WIDE.width),
  );
  // The same as CSV: the careful read's filter of the rows ran DuckDB's Parquet writer out of
  // 256MB even on one thread, where its CSV writer fit.
  await writeExport(path.join(dir, 'mistyped.csv.gz'), WIDE.rows + 1, (i) =>
    i === 0
      ? 'IndvId,EventStart,EventType,EventTargetText\n'
      : `${i === BROKEN_AT ? '1.5' : ID + BigInt(i)},2026-11-01T00:00:01.250Z,click,${`t${String(i).padStart(7, '0')}`.repeat(WIDE.width / 8)}\n`,
  );
  await writeExport(path.join(dir, 'late.ndjson.gz'), LATE.rows, (i) =>
    row(i, LATE.width, i === LATE.at ? { evt_late_str: 'late' } : {}),
  );
  await writeExport(
    path.join(dir, 'array.json.gz'),
    ARRAY.rows,
    (i) => row(i, ARRAY.width),
    'array',
  );
  pg = new PostgresSink({ connectionString: inject('postgresUrl'), schema, threads: 2 });
  await pg.query(`CREATE SCHEMA ${schema}`);
});
afterAll(async () => {
  await pg.query(`DROP SCHEMA ${schema} CASCADE`);
  await pg.close();
});

const load = (
  sink: Sink,
  name: string,
  format: 'ndjson' | 'json' | 'csv' = 'ndjson',
): Promise<LoadResult> =>
  sink.load({
    exportId: name,
    kind: 'events',
    format,
    file: path.join(dir, `${name}.${format}.gz`),
  });

describe.each([
  [
    'DuckDB',
    () =>
      new DuckDbSink({
        path: path.join(dir, `${randomBytes(4).toString('hex')}.duckdb`),
        threads: 2,
      }),
  ],
  ['PostgreSQL', () => pg],
])('rows tens of KB wide, into %s on two threads', (_name, sink) => {
  it('load in one pass: the first rows are sampled for their fields on one thread', async () => {
    const result = await load(sink(), 'wide');
    expect(result.rows).toBe(WIDE.rows);
    expect(result.plainBecause).toBeUndefined();
    expect(result.oneThreadBecause).toBeUndefined();
    expect(result.carefulBecause).toBeUndefined();
  }, 60_000);

  it('set a broken line aside and load the rest in one pass', async () => {
    const result = await load(sink(), 'broken');
    expect(result).toMatchObject({ rows: WIDE.rows - 1, rejected: 1 });
    expect(result.carefulBecause).toMatch(/Malformed JSON/);
  }, 60_000);

  it('quarantine a value of the wrong type and load the rest, line by line', async () => {
    const result = await load(sink(), 'mistyped');
    expect(result).toMatchObject({ rows: WIDE.rows - 1, rejected: 1 });
    expect(result.carefulBecause).toMatch(/1\.5/);
  }, 120_000);

  it('load on one thread when two run out of memory, and say so', async () => {
    const result = await load(sink(), 'late');
    expect(result.rows).toBe(LATE.rows);
    expect(result.newColumns).toContain('evt_late_str');
    expect(result.plainBecause).toMatch(/unknown key "evt_late_str"/);
    expect(result.oneThreadBecause).toMatch(/^Out of Memory Error/);
    expect(result.carefulBecause).toBeUndefined();
  }, 120_000);
});

it('a load that runs out of memory on one thread too fails saying which limit to raise', async () => {
  const sink = new DuckDbSink({ path: path.join(dir, 'small.duckdb'), memoryLimit: '96MB' });
  const failure = await load(sink, 'wide').catch((error: unknown) => error);
  expect(failure).toMatchObject({
    name: 'SinkError',
    code: 'sink.out_of_memory',
    retryable: false,
  });
  expect(String((failure as Error).message)).toMatch(/96MB memory limit.*DUCKDB_MEMORY_LIMIT/);
  // Not the careful path's reason: an export's lines read one by one would need more memory.
  expect(String((failure as Error).message)).not.toMatch(/careful/);
}, 60_000);

it('Parquet files of wide rows are written 256 rows at a time after 8,192 run out of memory', async () => {
  const out = path.join(dir, 'files');
  const result = await load(new FilesSink({ dir: out, threads: 2 }), 'wide');
  expect(result.rows).toBe(WIDE.rows);
  expect(result.wideRowsBecause).toMatch(/^Out of Memory Error/);
  expect(result.carefulBecause).toBeUndefined();
  const db = await (await DuckDBInstance.create(':memory:')).connect();
  try {
    const written = await db.runAndReadAll(
      `SELECT count(*) AS n, count(DISTINCT "IndvId") AS ids, min(length("EventTargetText")) AS width
       FROM read_parquet('${out}/events/*/*.parquet')`,
    );
    expect(written.getRowObjectsJS()[0]).toEqual({
      n: BigInt(WIDE.rows),
      ids: BigInt(WIDE.rows),
      width: BigInt(WIDE.width),
    });
  } finally {
    db.closeSync();
  }
}, 60_000);

it('Parquet files from a CSV of 64 KB rows quarantine a value of the wrong type', async () => {
  const out = path.join(dir, 'csv-files');
  const result = await load(new FilesSink({ dir: out, threads: 2 }), 'mistyped', 'csv');
  expect(result).toMatchObject({ rows: WIDE.rows - 1, rejected: 1 });
  expect(result.carefulBecause).toMatch(/1\.5/);
  const db = await (await DuckDBInstance.create(':memory:')).connect();
  try {
    const written = await db.runAndReadAll(
      `SELECT count(DISTINCT "IndvId") AS ids, min(length("EventTargetText")) AS width
       FROM read_parquet('${out}/events/*/*.parquet')`,
    );
    expect(written.getRowObjectsJS()[0]).toEqual({
      ids: BigInt(WIDE.rows - 1),
      width: BigInt(WIDE.width),
    });
    const quarantined = await db.runAndReadAll(
      `SELECT raw FROM read_json('${out}/quarantine/mistyped.ndjson')`,
    );
    expect(String(quarantined.getRowObjectsJS()[0]?.raw)).toMatch(/^1\.5,/);
  } finally {
    db.closeSync();
  }
}, 120_000);

it("NDJSON files of 64 KB rows fall back to DuckDB's JSON writer, a day at a time", async () => {
  // One pass hands the rows to DuckDB's CSV writer as to_json text; to_json's vectors of 64 KB
  // rows outgrow 256MB even 256 rows at a time, where the JSON writer's do not.
  const out = path.join(dir, 'ndjson-files');
  const result = await load(new FilesSink({ dir: out, format: 'ndjson', threads: 2 }), 'wide');
  expect(result.rows).toBe(WIDE.rows);
  expect(result.wideRowsBecause).toMatch(/^Out of Memory Error/);
  const db = await (await DuckDBInstance.create(':memory:')).connect();
  try {
    const written = await db.runAndReadAll(
      `SELECT count(*) AS n, count(DISTINCT "IndvId") AS ids FROM read_json('${out}/events/*/*.json')`,
    );
    expect(written.getRowObjectsJS()[0]).toEqual({ n: BigInt(WIDE.rows), ids: BigInt(WIDE.rows) });
  } finally {
    db.closeSync();
  }
}, 60_000);

it('NDJSON files from a JSON array of 16 KB rows read the array as lines after it ran out of memory', async () => {
  // The array's NDJSON write ran out of 256MB on one thread too; the same rows as lines fit.
  const out = path.join(dir, 'array-files');
  const result = await load(
    new FilesSink({ dir: out, format: 'ndjson', threads: 2 }),
    'array',
    'json',
  );
  expect(result).toMatchObject({ rows: ARRAY.rows, rejected: 0 });
  expect(result.asLinesBecause).toMatch(/^Out of Memory Error/);
  const db = await (await DuckDBInstance.create(':memory:')).connect();
  try {
    const written = await db.runAndReadAll(
      `SELECT count(*) AS n, count(DISTINCT "IndvId") AS ids, max("IndvId") AS top, min(length("EventTargetText")) AS width
       FROM read_json('${out}/events/*/*.json', columns = {'IndvId': 'BIGINT', 'EventTargetText': 'VARCHAR'})`,
    );
    expect(written.getRowObjectsJS()[0]).toEqual({
      n: BigInt(ARRAY.rows),
      ids: BigInt(ARRAY.rows),
      top: ID + BigInt(ARRAY.rows - 1),
      width: BigInt(ARRAY.width),
    });
  } finally {
    db.closeSync();
  }
}, 120_000);
