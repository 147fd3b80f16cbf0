import { readdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { gzipSync } from 'node:zlib';
import { beforeAll, describe, expect, it } from 'vitest';
import type { LoadResult } from './index.js';
import { SPECULATION_SAMPLE_ROWS } from './sampled-ndjson.js';
import { useFreshSinks } from './sink-test-helpers.js';

// The download stage stages an export's text rather than its gzip (see StagingStore). Every sink
// must load the text exactly as it loads the gzip, on each of its ways: sampled, the plain way
// after a field its sample lacked, and careful after a broken row.
const ROWS = SPECULATION_SAMPLE_ROWS + 2_000;
const row = (i: number, late = false) => ({
  IndvId: (9007199254740993n + BigInt(i)).toString(),
  EventStart: `2026-11-0${1 + (i % 2)}T00:00:${String(i % 60).padStart(2, '0')}.000Z`,
  EventType: i % 3 === 0 ? 'click' : 'navigate',
  evt_ok_bool: i % 5 === 0,
  evt_price_real: i / 4,
  evt_label_str: `label "${i}", with a comma`,
  ...(late && i === ROWS - 1 ? { evt_late_str: 'only on the last row' } : {}),
});
const ndjsonLines = (how: 'whole' | 'late' | 'broken') =>
  Array.from({ length: ROWS }, (_, i) =>
    how === 'broken' && i === 7
      ? '{"IndvId": 8, not json}' // Balanced, or it runs to the end of an array.
      : JSON.stringify(row(i, how === 'late')).replace(/"IndvId":"(\d+)"/, '"IndvId":$1'),
  );
const csvText = () =>
  [
    'IndvId,EventStart,EventType,evt_label_str',
    ...Array.from({ length: ROWS }, (_, i) => {
      const r = row(i);
      return `${r.IndvId},${r.EventStart},${r.EventType},"${r.evt_label_str.replaceAll('"', '""')}"`;
    }),
  ].join('\r\n');

const CASES = {
  ndjson: { format: 'ndjson', text: () => ndjsonLines('whole').join('\n') },
  'late ndjson': { format: 'ndjson', text: () => ndjsonLines('late').join('\n') },
  'broken ndjson': { format: 'ndjson', text: () => ndjsonLines('broken').join('\n') },
  'json array': { format: 'json', text: () => `[${ndjsonLines('whole').join(',\n')}]` },
  'late json array': { format: 'json', text: () => `[${ndjsonLines('late').join(',\n')}]` },
  'broken json array': { format: 'json', text: () => `[${ndjsonLines('broken').join(',\n')}]` },
  csv: { format: 'csv', text: csvText },
} as const;
type Case = keyof typeof CASES;

const { dir: tempDir, sinks: SINKS, loadFresh } = useFreshSinks('staged-text');
let dir: string;
beforeAll(async () => {
  dir = tempDir();
  for (const [name, { format, text }] of Object.entries(CASES)) {
    const file = path.join(dir, `${name.replaceAll(' ', '-')}.${format}`);
    await writeFile(file, text());
    await writeFile(`${file}.gz`, gzipSync(text()));
  }
});

/**
 * What a load loaded and refused, and whether it went careful. (Whether it speculated may differ:
 * NDJSON text on two DuckDB threads goes the plain way from the start, see speculates.)
 */
const outcome = (result: LoadResult) => ({
  rows: result.rows,
  rejected: result.rejected,
  careful: result.carefulBecause !== undefined,
});

describe.each(Object.keys(SINKS) as (keyof typeof SINKS)[])(
  'an export staged as text, into %s',
  (sinkName) => {
    it.each(Object.keys(CASES) as Case[])(
      'loads %s as its gzip loads, the same rows the same way',
      async (name) => {
        const { format } = CASES[name];
        const file = path.join(dir, `${name.replaceAll(' ', '-')}.${format}`);
        const at = `${sinkName}_${name}`.replaceAll(' ', '_');
        const load = (staged: string, exportId: string) =>
          loadFresh(sinkName, `${at}_${exportId}`, {
            exportId,
            kind: 'events',
            format,
            file: staged,
          });
        const fromGzip = await load(`${file}.gz`, 'gz');
        const fromText = await load(file, 'text');
        expect(outcome(fromText.result)).toEqual(outcome(fromGzip.result));
        expect(fromText.result.rows).toBe(name.startsWith('broken') ? ROWS - 1 : ROWS);
        expect(fromText.digest).toEqual(fromGzip.digest);
        expect(fromText.digest.count).toBe(fromText.result.rows);
        // The gzip's sampled read missed the late field and went the plain way. Text is read
        // sampled on one thread only (see speculates), and then misses it too; either way it
        // has the field (the digests match).
        const sampledText = sinkName === 'postgres' || sinkName === 'duckdb on one thread';
        if (name === 'late ndjson') {
          expect(fromGzip.result.plainBecause).toMatch(/evt_late_str/);
          expect(fromText.result.plainBecause !== undefined).toBe(sampledText);
        }
        if (name === 'ndjson') expect(fromText.result.plainBecause).toBeUndefined();
        // Nothing a load wrote beside the staged file stays behind.
        const beside = (await readdir(dir)).filter((f) => f.startsWith(path.basename(file)));
        expect(beside.sort()).toEqual([path.basename(file), `${path.basename(file)}.gz`]);
      },
      60_000,
    );
  },
);
