import { randomBytes } from 'node:crypto';
import { mkdtemp, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { gzipSync } from 'node:zlib';
import type {} from '@fsx/testing';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { DuckDbSink, PostgresSink } from './index.js';
import { SPECULATION_SAMPLE_ROWS } from './sampled-ndjson.js';

// Files FullStory could send on a bad day: a field that appears half-way, a broken line, a
// value of the wrong type. Nothing is rejected for an extra field; nothing is dropped silently.
const GOOD = (i: number) =>
  `{"IndvId":${9007199254740993n + BigInt(i)},"EventStart":"2026-11-01T00:00:0${i}.000Z","EventType":"click"}`;
const NDJSON = [
  GOOD(1),
  GOOD(2),
  '{"IndvId":3, this is not json',
  `{"IndvId":${9007199254740996n},"EventStart":"2026-11-01T00:00:04.000Z","EventType":"custom","evt_brand_new_str":"hello","SomeFutureField":"x"}`,
  '{"IndvId":"not-a-number","EventStart":"2026-11-01T00:00:05.000Z"}',
  GOOD(6),
].join('\n');
const CSV = [
  'IndvId,EventStart,EventType,evt_qty_int',
  '9007199254740993,2026-11-01T00:00:01.000Z,click,1',
  '9007199254740994,2026-11-01T00:00:02.000Z,"quoted, with comma",2',
  '9007199254740995,not-a-time,click,3',
  '9007199254740996,2026-11-01T00:00:04.000Z,click,four',
  '9007199254740997,2026-11-01T00:00:05.000Z,click,5',
].join('\r\n');

let dir: string;
const schema = `f_${randomBytes(4).toString('hex')}`;
let pg: PostgresSink;
beforeAll(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'fsx-fidelity-'));
  await writeFile(path.join(dir, 'bad.ndjson.gz'), gzipSync(NDJSON));
  await writeFile(path.join(dir, 'bad.csv.gz'), gzipSync(CSV));
  // The same elements as one JSON array (FullStory's FORMAT_JSON), the broken one with its
  // braces balanced: an unbalanced element would run to the end of the array.
  const elements = NDJSON.replace('this is not json', 'this is not json}').split('\n');
  await writeFile(
    path.join(dir, 'bad.json.gz'),
    gzipSync(`[\n${elements.join(',\n')},\n"not an object"\n]`),
  );
  pg = new PostgresSink({ connectionString: inject('postgresUrl'), schema });
  await pg.query(`CREATE SCHEMA ${schema}`);
});
afterAll(async () => {
  await pg.query(`DROP SCHEMA ${schema} CASCADE`);
  await pg.close();
});

describe.each(['duckdb', 'postgres'] as const)('%s sink fidelity', (kind) => {
  const sink = () =>
    kind === 'duckdb' ? new DuckDbSink({ path: path.join(dir, 'fidelity.duckdb') }) : pg;
  const rowsOf = async (sql: string) => {
    if (kind === 'postgres') return (await pg.query(sql.replaceAll('TABLE.', `${schema}.`))).rows;
    const duck = sink() as DuckDbSink;
    return duck.withConnection(async (db) =>
      (await db.runAndReadAll(sql.replaceAll('TABLE.', ''))).getRowObjectsJS(),
    );
  };

  /** Loads `lines` as an NDJSON export; its result, and its quarantine's lines and reasons. */
  const loadLines = async (exportId: string, lines: string[]) => {
    const file = path.join(dir, `${exportId}.ndjson.gz`);
    await writeFile(file, gzipSync(lines.join('\n')));
    const result = await sink().load({ exportId, kind: 'events', format: 'ndjson', file });
    const quarantined = await rowsOf(
      `SELECT line, reason FROM TABLE.quarantine WHERE export_id = '${exportId}' ORDER BY line`,
    );
    return { result, quarantined: quarantined.map((q) => [Number(q.line), q.reason]) };
  };

  it('adds a column for a field first seen mid-file, and quarantines broken and mistyped NDJSON lines', async () => {
    const result = await sink().load({
      exportId: 'nd',
      kind: 'events',
      format: 'ndjson',
      file: path.join(dir, 'bad.ndjson.gz'),
    });
    expect(result.rows).toBe(4);
    expect(result.rejected).toBe(2);
    // DuckDB's reason for refusing the fast path, for the ingest stage's log.
    expect(result.carefulBecause).toMatch(/\w/);
    expect(result.newColumns).toEqual(
      expect.arrayContaining(['evt_brand_new_str', 'SomeFutureField']),
    );
    const added = await rowsOf(
      `SELECT "evt_brand_new_str" AS v, "IndvId"::VARCHAR AS id FROM TABLE.events WHERE export_id = 'nd' AND "evt_brand_new_str" IS NOT NULL`,
    );
    expect(added).toEqual([{ v: 'hello', id: '9007199254740996' }]);
    const quarantined = await rowsOf(
      `SELECT line, reason FROM TABLE.quarantine WHERE export_id = 'nd' ORDER BY line`,
    );
    expect(quarantined.map((q) => [Number(q.line), q.reason])).toEqual([
      [3, 'malformed JSON'],
      [5, 'a value of the wrong type'],
    ]);
  });

  it('numbers quarantined lines as the file does, blank lines counted', async () => {
    const mistyped = GOOD(3).replace(/"IndvId":\d+/, '"IndvId":1.5');
    const { result, quarantined } = await loadLines('blank', [
      GOOD(1),
      '',
      GOOD(2),
      '   ',
      mistyped,
      '{"IndvId":',
    ]);
    expect(result).toMatchObject({ rows: 2, rejected: 2 });
    expect(quarantined).toEqual([
      [5, 'a value of the wrong type'],
      [6, 'malformed JSON'],
    ]);
  });

  it('quarantines timestamps the JSON reader refuses, a zone by name too, which SQL’s cast accepts', async () => {
    const stamp = (i: number, at: string) =>
      GOOD(i).replace(/"EventStart":"[^"]+"/, `"EventStart":"${at}"`);
    const { result, quarantined } = await loadLines('stamps', [
      GOOD(1),
      stamp(2, '2026-11-01T00:00:00 America/New_York'),
      stamp(3, 'not-a-time'),
      stamp(4, '2026-11-01T09:30:00+05:30'),
    ]);
    expect(result).toMatchObject({ rows: 2, rejected: 2 });
    expect(quarantined).toEqual([
      [2, 'a value of the wrong type'],
      [3, 'a value of the wrong type'],
    ]);
  });

  it('quarantines broken, mistyped and non-object elements of a JSON array, and loads the rest', async () => {
    const result = await sink().load({
      exportId: 'arr',
      kind: 'events',
      format: 'json',
      file: path.join(dir, 'bad.json.gz'),
    });
    expect(result).toMatchObject({ rows: 4, rejected: 3 });
    const loaded = await rowsOf(
      `SELECT "IndvId"::VARCHAR AS id, "evt_brand_new_str" AS v FROM TABLE.events WHERE export_id = 'arr' ORDER BY 1`,
    );
    expect(loaded).toEqual([
      { id: '9007199254740994', v: null },
      { id: '9007199254740995', v: null },
      { id: '9007199254740996', v: 'hello' },
      { id: '9007199254740999', v: null },
    ]);
    const quarantined = await rowsOf(
      `SELECT line, reason, raw FROM TABLE.quarantine WHERE export_id = 'arr' ORDER BY line`,
    );
    expect(quarantined.map((q) => [Number(q.line), q.reason, q.raw])).toEqual([
      [3, 'malformed JSON', '{"IndvId":3, this is not json}'],
      [5, 'a value of the wrong type', expect.stringContaining('not-a-number')],
      [7, 'not a JSON object', '"not an object"'],
    ]);
  });

  it('quarantines CSV rows it cannot read, with the reason and the raw line', async () => {
    const result = await sink().load({
      exportId: 'csv',
      kind: 'events',
      format: 'csv',
      file: path.join(dir, 'bad.csv.gz'),
    });
    expect(result).toMatchObject({ rows: 3, rejected: 2 });
    // Added by the fast path, which then failed: the careful load that landed reports it.
    expect(result.newColumns).toEqual(['evt_qty_int']);
    const quarantined = await rowsOf(
      `SELECT reason, raw FROM TABLE.quarantine WHERE export_id = 'csv' ORDER BY raw`,
    );
    expect(quarantined.map((q) => q.raw)).toEqual([
      '9007199254740995,not-a-time,click,3',
      '9007199254740996,2026-11-01T00:00:04.000Z,click,four',
    ]);
    for (const q of quarantined) expect(String(q.reason)).toMatch(/^CAST/);
    const quoted = await rowsOf(
      `SELECT "EventType" AS t FROM TABLE.events WHERE export_id = 'csv' AND "IndvId" = 9007199254740994`,
    );
    expect(quoted).toEqual([{ t: 'quoted, with comma' }]);
  });

  it.each(['json', 'ndjson'] as const)(
    'keeps a field a %s file first sends after the rows its columns are sampled from',
    async (format) => {
      // A JSON array may load while its key pass runs beside it, with the columns of the first
      // rows and the table's; NDJSON loads with the columns DuckDB detects in the first rows. A
      // later field (new, or known but absent from the sample) must still land.
      const late = SPECULATION_SAMPLE_ROWS + 500;
      const load = async (exportId: string, field: string) => {
        const rows = Array.from({ length: late + 10 }, (_, i) =>
          JSON.stringify({
            IndvId: i,
            EventType: 'click',
            [`evt_${format}_early_str`]: 'early',
            ...(i === late ? { [field]: 'late' } : {}),
          }),
        );
        const file = path.join(dir, `late-${format}-${exportId}.gz`);
        await writeFile(
          file,
          gzipSync(format === 'json' ? `[${rows.join(',\n')}]` : rows.join('\n')),
        );
        return sink().load({ exportId, kind: 'events', format, file });
      };
      const lateRows = (column: string) =>
        rowsOf(
          `SELECT export_id, "IndvId"::VARCHAR AS id FROM TABLE.events WHERE export_id LIKE '${format}-%' AND "${column}" = 'late' ORDER BY export_id`,
        );
      const first = await load(`${format}-1`, `evt_${format}_late_str`);
      expect(first).toMatchObject({ rows: late + 10, rejected: 0 });
      // The speculation missed, and the plain load (not the careful one) took the file. (The
      // DuckDB sink reads a JSON array with its key pass beside the load.)
      expect(first.carefulBecause).toBeUndefined();
      expect(first.plainBecause).toEqual(
        format === 'json' && kind === 'duckdb'
          ? expect.stringMatching(/fields its first \d+ rows lack/)
          : expect.stringContaining(`unknown key "evt_${format}_late_str"`),
      );
      // Every row's new field is added by the speculative try, which then rolls back: the load
      // that lands reports it too.
      expect(new Set(first.newColumns)).toEqual(
        new Set([`evt_${format}_early_str`, `evt_${format}_late_str`]),
      );
      // Then a second new field, and the first one again, now a known column.
      const second = await load(`${format}-2`, `evt_${format}_later_str`);
      expect(second.newColumns).toEqual([`evt_${format}_later_str`]);
      // A field the table knows is read from the start, sampled or not: nothing missed.
      expect((await load(`${format}-3`, `evt_${format}_late_str`)).plainBecause).toBeUndefined();
      expect(await lateRows(`evt_${format}_late_str`)).toEqual([
        { export_id: `${format}-1`, id: String(late) },
        { export_id: `${format}-3`, id: String(late) },
      ]);
      expect(await lateRows(`evt_${format}_later_str`)).toEqual([
        { export_id: `${format}-2`, id: String(late) },
      ]);
    },
  );

  it('a re-run replaces the quarantine too', async () => {
    await sink().load({
      exportId: 'nd',
      kind: 'events',
      format: 'ndjson',
      file: path.join(dir, 'bad.ndjson.gz'),
    });
    const quarantined = await rowsOf(
      `SELECT count(*) AS n FROM TABLE.quarantine WHERE export_id = 'nd'`,
    );
    expect(Number(quarantined[0]?.n)).toBe(2);
  });
});
