import { randomBytes } from 'node:crypto';
import { mkdtemp, readdir, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { gzipSync } from 'node:zlib';
import { DuckDBInstance } from '@duckdb/node-api';
import type {} from '@fsx/testing';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { DuckDbSink, type LoadResult, PostgresSink } from './index.js';
import { readSampled, SPECULATION_SAMPLE_ROWS } from './sampled-ndjson.js';

// An NDJSON export is read in one pass with the columns DuckDB detects from its first rows and two
// witness rows put before them. What it detects must never change a value. Each file below holds,
// after the sample, a value DuckDB's own detection would read differently from FullStory's type,
// without an error to fall back on.
const AFTER = SPECULATION_SAMPLE_ROWS + 100;
const UUID = '6F9619FF-8B86-D011-B42D-00C04FC964FF';
const FILES = {
  // Late, an object in a string field (its text is the value) and a timestamp with an offset.
  plain: (i: number) => ({
    evt_amount_real: i === AFTER ? 1.75 : (i % 7) + 0.25,
    evt_detail_str: i === AFTER ? { shade: 'teal' } : `detail ${i}`,
  }),
  // Whole numbers in the sample: detected as BIGINT, which would round the 1.5 after it to 2.
  whole: (i: number) => ({ evt_amount_real: i === AFTER ? 1.5 : i % 7 }),
  // A UUID in capitals: DuckDB's UUID type would print it in small letters.
  uuid: () => ({ user_ref_str: UUID }),
  // A fraction among the ids of the sample: read as a DOUBLE, ids above 2^53 would lose their last
  // digits, and as a BIGINT the fraction would be rounded. It is refused, and quarantined.
  fraction: (i: number) => (i === 5 ? { UserId: 0.5 } : { UserId: '#ID#' }),
};
type FileName = keyof typeof FILES;
const ID = (i: number) => 9007199254740993n + BigInt(i);
const line = (name: FileName, i: number) =>
  JSON.stringify({
    IndvId: '#ID#',
    EventStart: i === AFTER ? '2026-11-01T02:00:00.5+02:00' : '2026-11-01T00:00:01.250Z',
    EventType: 'click',
    ...FILES[name](i),
  }).replaceAll('"#ID#"', String(ID(i)));

let dir: string;
const schema = `s_${randomBytes(4).toString('hex')}`;
let pg: PostgresSink;
beforeAll(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'fsx-sampled-'));
  for (const name of Object.keys(FILES) as FileName[]) {
    const lines = Array.from({ length: AFTER + 10 }, (_, i) => line(name, i));
    await writeFile(path.join(dir, `${name}.ndjson.gz`), gzipSync(lines.join('\n')));
    await writeFile(path.join(dir, `${name}.json.gz`), gzipSync(`[${lines.join(',')}]`));
  }
  pg = new PostgresSink({ connectionString: inject('postgresUrl'), schema });
  await pg.query(`CREATE SCHEMA ${schema}`);
});
afterAll(async () => {
  await pg.query(`DROP SCHEMA ${schema} CASCADE`);
  await pg.close();
});

describe('readSampled', () => {
  const read = async (name: FileName) => {
    const db = await (await DuckDBInstance.create(':memory:')).connect();
    const columns = [
      { name: 'IndvId', type: 'int64' as const },
      { name: 'UserId', type: 'int64' as const },
      { name: 'evt_amount_real', type: 'number' as const },
    ];
    const file = path.join(dir, `${name}.ndjson.gz`);
    const sampled = await readSampled(
      { exportId: 'x', kind: 'events', format: 'ndjson', file },
      columns,
      undefined,
    );
    try {
      // Every column, as a load reads them (a count alone would not read the mistyped one).
      await db.run(`CREATE TEMP TABLE loaded AS SELECT * FROM ${sampled.rows}`);
      return (await db.runAndReadAll('SELECT count(*) AS n FROM loaded')).getRowObjectsJS()[0]?.n;
    } finally {
      await sampled.dispose();
      db.closeSync();
      expect((await readdir(dir)).filter((f) => f.includes('witness'))).toEqual([]);
    }
  };

  it('reads every row of the file and none of the witnesses, and removes its copy', async () => {
    expect(await read('whole')).toBe(BigInt(AFTER + 10));
  });

  it('fails on a fraction in an id, in the sample or after it, rather than round it', async () => {
    await expect(read('fraction')).rejects.toThrow(/UserId: not an integer: 0.5/);
  });

  it('reads a number, id or boolean asked for as text as it was sent, as the plain read does', async () => {
    // PostgreSQL's COPY parses every value itself. Typed by DuckDB first, a whole number in a
    // _real field would come back as 5.0 and an escaped string as its escape, at a cost.
    const file = path.join(dir, 'as-text.ndjson.gz');
    const sent = [
      ['5', '"2.5"'],
      ['1.25', '"\\u0033"'],
      ['100', '4'],
      ['null', 'null'],
    ];
    const rows = sent.map(
      ([real, mixed], i) =>
        `{"IndvId":${ID(i)},"evt_real":${real},"evt_mixed_real":${mixed},"evt_bool":${i % 2 === 0}}`,
    );
    await writeFile(file, gzipSync(rows.join('\n')));
    const columns = [
      { name: 'IndvId', type: 'int64' as const },
      { name: 'evt_real', type: 'number' as const },
      { name: 'evt_mixed_real', type: 'number' as const },
      { name: 'evt_bool', type: 'bool' as const },
    ];
    const input = { exportId: 'x', kind: 'events', format: 'ndjson', file } as const;
    const sampled = await readSampled(input, columns, new Set());
    const db = await (await DuckDBInstance.create(':memory:')).connect();
    try {
      const read = await db.runAndReadAll(
        `SELECT IndvId AS id, evt_real AS r, evt_mixed_real AS m, evt_bool AS b FROM ${sampled.rows}`,
      );
      expect(read.getRowObjectsJS()).toEqual([
        { id: String(ID(0)), r: '5', m: '2.5', b: 'true' },
        { id: String(ID(1)), r: '1.25', m: '3', b: 'false' },
        { id: String(ID(2)), r: '100', m: '4', b: 'true' },
        { id: String(ID(3)), r: null, m: null, b: 'false' },
      ]);
    } finally {
      await sampled.dispose();
      db.closeSync();
    }
  });
});

// The DuckDB sink reads a JSON array with its key pass beside the load instead.
describe.each([
  ['duckdb', 'ndjson'],
  ['postgres', 'ndjson'],
  ['postgres', 'json'],
] as const)('%s sink, %s read sampled', (kind, format) => {
  const sink = () =>
    kind === 'duckdb' ? new DuckDbSink({ path: path.join(dir, 'x.duckdb') }) : pg;
  const rowsOf = async (sql: string) => {
    if (kind === 'postgres') return (await pg.query(sql.replace('TABLE.', `${schema}.`))).rows;
    return (sink() as DuckDbSink).withConnection(async (db) =>
      (await db.runAndReadAll(sql.replace('TABLE.', ''))).getRowObjectsJS(),
    );
  };
  const load = async (name: FileName, rejected = 0) => {
    const result = await sink().load({
      exportId: name,
      kind: 'events',
      format,
      file: path.join(dir, `${name}.${format}.gz`),
    });
    expect(result).toMatchObject({ rows: AFTER + 10 - rejected, rejected });
    expect((await readdir(dir)).filter((f) => f.includes('witness'))).toEqual([]);
    return result;
  };
  // Read in one pass: neither the plain way nor the careful one.
  const fastPath = (result: LoadResult) =>
    result.carefulBecause === undefined && result.plainBecause === undefined;
  const after = (name: FileName, columns: string) =>
    rowsOf(
      `SELECT ${columns} FROM TABLE.events WHERE export_id = '${name}' AND "IndvId" = ${ID(AFTER)}`,
    );

  it('keeps every value after the sample as sent', async () => {
    expect(fastPath(await load('plain'))).toBe(true);
    expect(
      await after(
        'plain',
        `"IndvId"::VARCHAR AS id, "EventStart" = TIMESTAMPTZ '2026-11-01 00:00:00.5+00' AS at, "evt_amount_real"::VARCHAR AS amount, "evt_detail_str" AS detail`,
      ),
    ).toEqual([{ id: String(ID(AFTER)), at: true, amount: '1.75', detail: '{"shade":"teal"}' }]);
  });

  it('keeps a fraction after whole numbers in a _real field', async () => {
    expect(fastPath(await load('whole'))).toBe(true);
    expect(await after('whole', `"evt_amount_real"::VARCHAR AS amount`)).toEqual([
      { amount: '1.5' },
    ]);
  });

  it('keeps a UUID as it was sent', async () => {
    expect(fastPath(await load('uuid'))).toBe(true);
    expect(await after('uuid', `"user_ref_str" AS ref`)).toEqual([{ ref: UUID }]);
  });

  it('quarantines a fraction among the ids of the sample and keeps every digit of the rest', async () => {
    // DuckDB's read refuses the 0.5 (PostgreSQL's COPY does, as a bigint), and the careful path
    // quarantines it.
    const result = await load('fraction', 1);
    expect(result.carefulBecause).toMatch(
      kind === 'duckdb' ? /UserId: not an integer: 0.5/ : /bigint/i,
    );
    expect(await after('fraction', `"UserId"::VARCHAR AS id`)).toEqual([{ id: String(ID(AFTER)) }]);
  });
});
