import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { gzipSync } from 'node:zlib';
import { beforeAll, describe, expect, it } from 'vitest';
import { SPECULATION_SAMPLE_ROWS } from './sampled-ndjson.js';
import { useFreshSinks } from './sink-test-helpers.js';

// A value of the wrong type is a rejected row, never a cast one: DuckDB's readers would load a
// 1.5 in an id as 2, 2.5e0 as 3, a 7 in a boolean as true and `true` in a number as 1.0, both in
// the rows they sample and past them (duckdb/duckdb#25786). A whole number written as 12.0 or
// 1e3 is one, and loads. Each file is loaded next to the
// same file without its bad rows: the good rows must land alike, the bad ones in the quarantine.
const ROWS = SPECULATION_SAMPLE_ROWS + 2_000;
const LATE = ROWS - 10;
const BAD: Record<number, (line: string) => string> = {
  2: (l) => l.replace(/"IndvId":\d+/, '"IndvId":1.5'),
  5: (l) => l.replace(/"evt_ok_bool":\w+/, '"evt_ok_bool":7'),
  [LATE]: (l) => l.replace(/"evt_price_real":/, '"evt_price_real":true,"was":'),
  [LATE + 2]: (l) => l.replace(/"IndvId":\d+/, '"IndvId":2.5e0'),
  [LATE + 4]: (l) => l.replace(/"evt_qty_int":/, '"evt_qty_int":2.5,"was":'),
};
const id = (i: number) =>
  i === 7 ? '7.0' : i === 8 ? '8e0' : String(9007199254740993n + BigInt(i));
const line = (i: number) =>
  `{"IndvId":${id(i)},"EventStart":"2026-11-01T00:00:${String(i % 60).padStart(2, '0')}.000Z","evt_ok_bool":${i % 2 === 0},"evt_price_real":${i / 4},"evt_qty_int":${i}}`;
const lines = (withBad: boolean) =>
  Array.from({ length: ROWS }, (_, i) => {
    const bad = BAD[i];
    if (!bad) return line(i);
    return withBad ? bad(line(i)) : undefined;
  }).filter((l) => l !== undefined);
const csv = (withBad: boolean) =>
  [
    'IndvId,EventStart,evt_qty_int',
    ...Array.from({ length: ROWS }, (_, i) => {
      const good = `${id(i)},2026-11-01T00:00:00.000Z,${i}`;
      if (i === 2) return withBad ? `1.5,2026-11-01T00:00:00.000Z,${i}` : undefined;
      if (i === LATE) return withBad ? `2.5e0,2026-11-01T00:00:00.000Z,${i}` : undefined;
      if (i === LATE + 2) return withBad ? good.replace(/,\d+$/, ',2.5') : undefined;
      return good;
    }).filter((l) => l !== undefined),
  ].join('\r\n');
// What a careful CSV read writes out and reads back (see carefulCsvReader) must come back as it
// was: quotes, commas and line breaks inside a value, an empty value quoted (`""`) and not (DuckDB
// reads both as NULL, the copy must keep that).
const quotedCsv = (withBad: boolean) =>
  [
    'IndvId,EventStart,EventType,evt_note_str,evt_ok_bool,evt_price_real,evt_signup_date',
    ...Array.from({ length: ROWS }, (_, i) => {
      const type = ['', '""', 'click'][i % 3];
      const row = `${id(i)},2026-11-01T00:00:00.000Z,${type},"say ""hi"", then\nleave ${i}",${i % 2 === 0},${i === 9 ? '1e+300' : i / 10},2026-11-01T08:00:00+02:00`;
      if (i === 2) return withBad ? row.replace(/^\d+/, '1.5') : undefined;
      if (i === LATE) return withBad ? row.replace(/,(true|false),/, ',7,') : undefined;
      return row;
    }).filter((l) => l !== undefined),
  ].join('\r\n');

const FILES = {
  ndjson: { format: 'ndjson', text: (bad: boolean) => lines(bad).join('\n'), rejected: 5 },
  'ndjson text': { format: 'ndjson', text: (bad: boolean) => lines(bad).join('\n'), rejected: 5 },
  'json array': {
    format: 'json',
    text: (bad: boolean) => `[${lines(bad).join(',\n')}]`,
    rejected: 5,
  },
  csv: { format: 'csv', text: csv, rejected: 3 },
  'csv quoted': { format: 'csv', text: quotedCsv, rejected: 2 },
} as const;
type FileName = keyof typeof FILES;

const { dir: tempDir, sinks: SINKS, loadFresh } = useFreshSinks('strict');
let dir: string;
beforeAll(async () => {
  dir = tempDir();
  for (const [name, { format, text }] of Object.entries(FILES))
    for (const bad of [true, false]) {
      const file = path.join(
        dir,
        `${name.replaceAll(' ', '-')}-${bad ? 'bad' : 'clean'}.${format}`,
      );
      if (name.endsWith('text')) await writeFile(file, text(bad));
      else await writeFile(`${file}.gz`, gzipSync(text(bad)));
    }
});

describe.each(Object.keys(SINKS) as (keyof typeof SINKS)[])('%s', (sinkName) => {
  it.each(Object.keys(FILES) as FileName[])(
    'quarantines the mistyped values of %s instead of casting them',
    async (name) => {
      const { format, rejected } = FILES[name];
      const load = async (which: 'bad' | 'clean') => {
        const base = path.join(dir, `${name.replaceAll(' ', '-')}-${which}.${format}`);
        const file = name.endsWith('text') ? base : `${base}.gz`;
        const at = `${sinkName}_${name}_${which}`.replace(/\W/g, '_');
        return loadFresh(sinkName, at, { exportId: which, kind: 'events', format, file });
      };
      const bad = await load('bad');
      const clean = await load('clean');
      expect(clean.result).toMatchObject({ rows: ROWS - rejected, rejected: 0 });
      expect(bad.result).toMatchObject({ rows: ROWS - rejected, rejected });
      expect(bad.result.carefulBecause).toMatch(/\w/);
      expect(bad.digest).toEqual(clean.digest);
    },
  );
});
