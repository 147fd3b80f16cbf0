import { randomBytes } from 'node:crypto';
import { mkdtemp, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { gzipSync } from 'node:zlib';
import { DuckDBInstance } from '@duckdb/node-api';
import type {} from '@fsx/testing';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { DuckDbSink, type FileFormat, FilesSink, type NewFields, PostgresSink } from './index.js';

// SINK_NEW_FIELDS=extras: FullStory's documented fields keep their typed columns, and every other
// field lands, as sent, in one JSON `extras` object per row instead of a column of its own.
const BIG = '12345678901234567890123'; // More digits than any integer or double column holds.
const ROWS = [
  `{"IndvId":9007199254740993,"EventStart":"2026-11-01T00:00:01.000Z","EventType":"click","evt_promo_str":"hello","Surprise":{"nested":[1,2]},"BigCount":${BIG}}`,
  '{"IndvId":9007199254740994,"EventStart":"2026-11-01T00:00:02.000Z","EventType":"load"}',
  '{"IndvId":9007199254740995,"EventStart":"2026-11-01T00:00:03.000Z","EventType":"change","Surprise":null}',
];
const CSV = [
  'IndvId,EventStart,EventType,evt_promo_str,Surprise',
  '9007199254740993,2026-11-01T00:00:01.000Z,click,hello,"{""nested"":[1,2]}"',
  '9007199254740994,2026-11-01T00:00:02.000Z,load,,',
  '9007199254740995,2026-11-01T00:00:03.000Z,change,,',
].join('\n');
const FILES: Record<FileFormat, string> = {
  // A broken line too: the careful path gathers extras as the fast path does.
  ndjson: [ROWS[0], '{"IndvId":4, broken', ROWS[1], ROWS[2]].join('\n'),
  json: `[${ROWS.join(',\n')}]`,
  csv: CSV,
};
const EXTRA_FIELDS: Record<FileFormat, string[]> = {
  ndjson: ['BigCount', 'Surprise', 'evt_promo_str'],
  json: ['BigCount', 'Surprise', 'evt_promo_str'],
  csv: ['Surprise', 'evt_promo_str'],
};
// CSV carries text only: the object comes back as the string it was in the file.
const ROW_ONE_EXTRAS: Record<FileFormat, Record<string, unknown>> = {
  ndjson: { evt_promo_str: 'hello', Surprise: { nested: [1, 2] } },
  json: { evt_promo_str: 'hello', Surprise: { nested: [1, 2] } },
  csv: { evt_promo_str: 'hello', Surprise: '{"nested":[1,2]}' },
};

let dir: string;
const schema = `x_${randomBytes(4).toString('hex')}`;
let pg: PostgresSink;
let pgColumns: PostgresSink;
beforeAll(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'fsx-extras-'));
  for (const [format, text] of Object.entries(FILES))
    await writeFile(path.join(dir, `extras.${format}.gz`), gzipSync(text));
  const connectionString = inject('postgresUrl');
  pg = new PostgresSink({ connectionString, schema, newFields: 'extras' });
  pgColumns = new PostgresSink({ connectionString, schema });
  await pg.query(`CREATE SCHEMA ${schema}`);
});
afterAll(async () => {
  await pg.query(`DROP SCHEMA ${schema} CASCADE`);
  await Promise.all([pg.close(), pgColumns.close()]);
});

type Kind = 'duckdb' | 'postgres' | 'files';

function sinkOf(kind: Kind, newFields: NewFields = 'extras') {
  if (kind === 'postgres') return newFields === 'extras' ? pg : pgColumns;
  if (kind === 'files') return new FilesSink({ dir: path.join(dir, 'files'), newFields });
  return new DuckDbSink({ path: path.join(dir, 'extras.duckdb'), newFields });
}

/** The rows of `events` (`TABLE` in `sql`) as the sink stores them. */
async function rowsOf(kind: Kind, sql: string): Promise<Record<string, unknown>[]> {
  if (kind === 'postgres')
    return (await pg.query(sql.replaceAll('TABLE', `${schema}.events`))).rows;
  const source =
    kind === 'files'
      ? `read_parquet('${path.join(dir, 'files', 'events')}/*/*.parquet', hive_partitioning = false)`
      : 'events';
  if (kind === 'duckdb')
    return (sinkOf('duckdb') as DuckDbSink).withConnection(async (db) =>
      (await db.runAndReadAll(sql.replaceAll('TABLE', source))).getRowObjectsJS(),
    );
  const instance = await DuckDBInstance.create(':memory:');
  const db = await instance.connect();
  try {
    return (await db.runAndReadAll(sql.replaceAll('TABLE', source))).getRowObjectsJS();
  } finally {
    db.closeSync();
    instance.closeSync();
  }
}

async function columnsOf(kind: Kind, exportId: string): Promise<string[]> {
  const [row] = await rowsOf(kind, `SELECT * FROM TABLE WHERE export_id = '${exportId}' LIMIT 1`);
  return Object.keys(row ?? {});
}

describe.each(['duckdb', 'postgres', 'files'] as const)(
  '%s sink, new fields into extras',
  (kind) => {
    it.each(['ndjson', 'json', 'csv'] as const)(
      'keeps documented fields in columns and the rest of a %s file in extras, as sent',
      async (format) => {
        const exportId = `extras-${format}`;
        const load = () =>
          sinkOf(kind).load({
            exportId,
            kind: 'events',
            format,
            file: path.join(dir, `extras.${format}.gz`),
          });
        const result = await load();
        expect(result).toMatchObject({ rows: 3, rejected: format === 'ndjson' ? 1 : 0 });
        expect([...result.extraFields].sort()).toEqual(EXTRA_FIELDS[format]);
        for (const field of EXTRA_FIELDS[format]) expect(result.newColumns).not.toContain(field);
        const columns = await columnsOf(kind, exportId);
        expect(columns).toEqual(expect.arrayContaining(['IndvId', 'EventType', 'extras']));
        for (const field of EXTRA_FIELDS[format]) expect(columns).not.toContain(field);

        await load(); // A re-run replaces the export's rows, extras and all.
        const rows = await rowsOf(
          kind,
          `SELECT "IndvId"::TEXT AS id, extras::TEXT AS extras FROM TABLE WHERE export_id = '${exportId}' ORDER BY 1`,
        );
        expect(rows.map((r) => r.id)).toEqual([
          '9007199254740993',
          '9007199254740994',
          '9007199254740995',
        ]);
        const [one, two, three] = rows.map((r) => r.extras as string | null);
        const { BigCount: _, ...rest } = JSON.parse(String(one));
        expect(rest).toEqual(ROW_ONE_EXTRAS[format]);
        // Every digit, in the JSON text itself (JSON.parse above would round it).
        if (format !== 'csv') expect(one).toMatch(new RegExp(`"BigCount":\\s*${BIG}\\b`));
        // No field, or only a null: no extras at all.
        expect([two, three]).toEqual([null, null]);
      },
    );

    it.skipIf(kind === 'files')(
      'keeps using a column the table already has for a field that would otherwise be extra',
      async () => {
        const file = path.join(dir, 'extras.ndjson.gz');
        await sinkOf(kind, 'columns').load({
          exportId: 'as-columns',
          kind: 'events',
          format: 'ndjson',
          file,
        });
        const result = await sinkOf(kind).load({
          exportId: 'after-columns',
          kind: 'events',
          format: 'ndjson',
          file,
        });
        // The columns-mode load added a column for each of the file's fields: none is extra now.
        expect(result.extraFields).toEqual([]);
        const [row] = await rowsOf(
          kind,
          `SELECT evt_promo_str AS promo, extras::TEXT AS extras FROM TABLE WHERE export_id = 'after-columns' AND "IndvId" = 9007199254740993`,
        );
        expect(row).toEqual({ promo: 'hello', extras: null });
      },
    );
  },
);
