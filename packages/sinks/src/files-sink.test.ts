import { mkdtemp, readdir, readFile, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { gzipSync } from 'node:zlib';
import { DuckDBInstance } from '@duckdb/node-api';
import { generateExportFile } from '@fsx/fullstory-sim';
import { beforeAll, describe, expect, it } from 'vitest';
import { FilesSink } from './index.js';
import { SPECULATION_SAMPLE_ROWS } from './sampled-ndjson.js';

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'fsx-files-'));
});

const threeDays = {
  startMs: Date.parse('2026-11-01T00:00:00Z'),
  endMs: Date.parse('2026-11-04T00:00:00Z'),
};

describe.each(['parquet', 'ndjson'] as const)('FilesSink (%s)', (format) => {
  it('writes one folder per table and day with exactly the generated rows, and re-runs in place', async () => {
    const out = path.join(dir, format);
    const staged = path.join(dir, `staged-${format}.ndjson.gz`);
    const generated = await generateExportFile({
      path: staged,
      type: 'events',
      format: 'ndjson',
      rows: 900,
      window: threeDays,
    });
    const sink = new FilesSink({ dir: out, format });
    const first = await sink.load({
      exportId: 'exp-1',
      kind: 'events',
      format: 'ndjson',
      file: staged,
    });
    expect(first).toMatchObject({ rows: 900, rejected: 0 });
    expect((await readdir(path.join(out, 'events'))).sort()).toEqual([
      'day=2026-11-01',
      'day=2026-11-02',
      'day=2026-11-03',
    ]);
    expect(await sink.digest('events', 'exp-1')).toEqual({ count: 900, hash: generated.hash });
    await sink.load({ exportId: 'exp-1', kind: 'events', format: 'ndjson', file: staged });
    expect(await sink.digest('events', 'exp-1')).toEqual({ count: 900, hash: generated.hash });
    expect((await readdir(out)).filter((name) => name.startsWith('.incoming'))).toEqual([]);
  });

  it('publishes nothing when the export stopped wanting the load before it landed', async () => {
    const out = path.join(dir, `${format}-abandoned`);
    const staged = path.join(dir, `abandoned-${format}.ndjson.gz`);
    await generateExportFile({ path: staged, type: 'events', format: 'ndjson', rows: 50 });
    const sink = new FilesSink({ dir: out, format });
    let asked = 0;
    const stillWanted = async () => {
      asked += 1;
      return false;
    };
    await expect(
      sink.load({ exportId: 'exp-2', kind: 'events', format: 'ndjson', file: staged, stillWanted }),
    ).rejects.toMatchObject({ name: 'SinkError', code: 'sink.abandoned' });
    expect(asked).toBe(1); // not tried again on the careful path
    expect(await sink.digest('events', 'exp-2')).toMatchObject({ count: 0 });
    expect((await readdir(out)).filter((name) => name.startsWith('.incoming'))).toEqual([]);
  });
});

describe('FilesSink at scale', () => {
  let staged: string;
  let hash: string;
  beforeAll(async () => {
    staged = path.join(dir, 'big.ndjson.gz');
    ({ hash } = await generateExportFile({
      path: staged,
      type: 'events',
      format: 'ndjson',
      rows: 250_000,
      window: { startMs: threeDays.startMs, endMs: threeDays.startMs + 86_400_000 },
    }));
  }, 120_000);

  // At the default 256MB, 250k rows of one day ran out of memory in both attempts while DuckDB's
  // partitioned write held 524,288 rows a thread (a 200k-row export did so in the demo). At 96MB
  // they did so building row groups of 122,880 wide rows, before row groups were capped in bytes.
  it.each([undefined, '96MB'])(
    'writes a big export as Parquet within a memory limit of %s, in row groups of useful size',
    async (memoryLimit) => {
      const out = path.join(dir, `big-${memoryLimit}`);
      const sink = new FilesSink({ dir: out, ...(memoryLimit ? { memoryLimit } : {}) });
      const result = await sink.load({
        exportId: 'big',
        kind: 'events',
        format: 'ndjson',
        file: staged,
      });
      expect(result).toMatchObject({ rows: 250_000, rejected: 0 });
      expect(await sink.digest('events', 'big')).toEqual({ count: 250_000, hash });
      const db = await (await DuckDBInstance.create(':memory:')).connect();
      const groups = await db.runAndReadAll(
        `SELECT count(DISTINCT row_group_id) AS n FROM parquet_metadata('${out}/events/*/*.parquet')`,
      );
      const { n } = groups.getRowObjectsJS()[0] as { n: bigint };
      db.closeSync();
      // Row groups of 8,192 rows or more on average (14-15 of them here, ~17k rows each).
      expect(Number(n)).toBeLessThanOrEqual(250_000 / 8_192);
    },
    120_000,
  );
});

describe.each([
  ['parquet', 'json'],
  ['ndjson', 'json'],
  ['parquet', 'ndjson'],
  ['ndjson', 'ndjson'],
] as const)('FilesSink (%s) from %s', (format, input) => {
  it('keeps a field first sent after the rows the speculative write took its columns from', async () => {
    // A JSON array is written while its key pass runs beside it, with the first rows' columns,
    // NDJSON with the columns DuckDB detects in the first rows: a later field must throw that
    // write away and land in the plain one.
    const late = SPECULATION_SAMPLE_ROWS + 500;
    const rows = Array.from({ length: late + 10 }, (_, i) =>
      JSON.stringify({
        IndvId: i,
        EventStart: '2026-11-01T00:00:01.000Z',
        EventType: 'click',
        ...(i === late ? { evt_late_str: 'late' } : {}),
      }),
    );
    const staged = path.join(dir, `late-${format}.${input}.gz`);
    await writeFile(staged, gzipSync(input === 'json' ? `[${rows.join(',\n')}]` : rows.join('\n')));
    const out = path.join(dir, `late-${format}-${input}`);
    const result = await new FilesSink({ dir: out, format }).load({
      exportId: 'late',
      kind: 'events',
      format: input,
      file: staged,
    });
    expect(result).toMatchObject({ rows: late + 10, rejected: 0 });
    expect(result.carefulBecause).toBeUndefined();
    expect(result.newColumns).toContain('evt_late_str');
    const db = await (await DuckDBInstance.create(':memory:')).connect();
    const read =
      format === 'parquet'
        ? `read_parquet('${out}/events/*/*.parquet', union_by_name = true)`
        : `read_json('${out}/events/*/*.json', union_by_name = true)`;
    const found = (
      await db.runAndReadAll(
        `SELECT "IndvId"::BIGINT AS id FROM ${read} WHERE evt_late_str = 'late'`,
      )
    ).getRowObjectsJS();
    db.closeSync();
    expect(found).toEqual([{ id: BigInt(late) }]);
    expect((await readdir(out)).filter((name) => name.startsWith('.incoming'))).toEqual([]);
  });
});

describe('FilesSink new columns', () => {
  it('reports the columns no earlier load of the table wrote, as a table sink would', async () => {
    const { gzipSync } = await import('node:zlib');
    const { writeFile } = await import('node:fs/promises');
    const sink = new FilesSink({ dir: path.join(dir, 'columns') });
    const load = async (exportId: string, row: string) => {
      const staged = path.join(dir, `${exportId}.ndjson.gz`);
      await writeFile(staged, gzipSync(row));
      return (await sink.load({ exportId, kind: 'events', format: 'ndjson', file: staged }))
        .newColumns;
    };
    const row = '{"IndvId":1,"EventStart":"2026-11-01T00:00:00Z"';
    expect(await load('c1', `${row}}`)).toEqual(['IndvId', 'EventStart']);
    expect(await load('c2', `${row}}`)).toEqual([]);
    expect(await load('c3', `${row},"evt_new_str":"x"}`)).toEqual(['evt_new_str']);
    expect(await load('c4', `${row},"evt_new_str":"y"}`)).toEqual([]);
  });
});

describe('FilesSink quarantine', () => {
  it('keeps unreadable rows in a quarantine file with the reason', async () => {
    const { gzipSync } = await import('node:zlib');
    const { writeFile } = await import('node:fs/promises');
    const staged = path.join(dir, 'bad.ndjson.gz');
    await writeFile(
      staged,
      gzipSync('{"IndvId":1,"EventStart":"2026-11-01T00:00:00Z"}\n{broken\n'),
    );
    const sink = new FilesSink({ dir: path.join(dir, 'q') });
    expect(
      await sink.load({ exportId: 'bad', kind: 'events', format: 'ndjson', file: staged }),
    ).toMatchObject({ rows: 1, rejected: 1 });
    const quarantine = (await readFile(path.join(dir, 'q', 'quarantine', 'bad.ndjson'), 'utf8'))
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l));
    expect(quarantine).toEqual([{ line: 2, reason: 'malformed JSON', raw: '{broken' }]);
  });
});
