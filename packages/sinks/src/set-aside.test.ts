import { readdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { gzipSync } from 'node:zlib';
import { beforeAll, describe, expect, it } from 'vitest';
import { SPECULATION_SAMPLE_ROWS } from './sampled-ndjson.js';
import { setAsideMalformedLines } from './set-aside.js';
import { useFreshSinks } from './sink-test-helpers.js';

// A few broken lines in a big export (a truncated write, a stray byte) are set aside before the
// load, which then runs on the fast path: the rows must land as the same file's without them.
const { dir: tempDir, sinks: SINKS, loadFresh } = useFreshSinks('set-aside');

const good = (i: number, extra = '') =>
  `{"IndvId":${9007199254740993n + BigInt(i)},"EventStart":"2026-11-01T00:00:${String(i % 60).padStart(2, '0')}.000Z","EventType":"click"${extra}}`;

describe('setAsideMalformedLines', () => {
  const text = Buffer.concat([
    Buffer.from(`${good(1)}\n`),
    Buffer.from('{"IndvId":2, "EventType":"cli\n'),
    Buffer.from(`${good(3)}\r\n`),
    Buffer.from('\n'),
    Buffer.from('42\n'),
    Buffer.from('["an", "array"]\n'),
    Buffer.from('{"IndvId":7,"EventType":"caf'),
    Buffer.from([0xe9, 0x22, 0x7d, 0x0a]), // é in Latin-1: not UTF-8
    Buffer.from(`${good(8)}\n`),
    Buffer.from('{"last": "line", "no newline"'),
  ]);
  const expected = {
    passed: `${good(1)}\n${good(3)}\r\n\n${good(8)}\n`,
    setAside: [
      { line: 2, reason: 'malformed JSON', raw: '{"IndvId":2, "EventType":"cli' },
      { line: 5, reason: 'not a JSON object', raw: '42' },
      { line: 6, reason: 'not a JSON object', raw: '["an", "array"]' },
      { line: 7, reason: 'malformed JSON', raw: '{"IndvId":7,"EventType":"caf\uFFFD"}' },
      { line: 9, reason: 'malformed JSON', raw: '{"last": "line", "no newline"' },
    ],
  };

  it.each([
    ['text', (t: Buffer) => t, ''],
    ['gzip', gzipSync, '.gz'],
  ])(
    'copies the rows of %s as they are and sets the rest aside with line and reason',
    async (_, encode, ext) => {
      const dir = tempDir();
      const file = path.join(dir, `mixed-${ext || 'text'}.ndjson${ext}`);
      await writeFile(file, encode(text));
      const passed = `${file}.passed`;
      const setAside = `${file}.aside`;
      expect(await setAsideMalformedLines(file, passed, setAside)).toBe(5);
      expect(await readFile(passed, 'utf8')).toBe(expected.passed);
      const aside = (await readFile(setAside, 'utf8')).trimEnd().split('\n');
      expect(aside.map((l) => JSON.parse(l))).toEqual(expected.setAside);
    },
  );

  it('copies a file of rows whole, across its read chunks, and sets nothing aside', async () => {
    const file = path.join(tempDir(), 'clean.ndjson');
    const rows = `${Array.from({ length: 5_000 }, (_, i) => good(i, `,"pad_str":"${'x'.repeat(i % 300)}"`)).join('\n')}\n`;
    await writeFile(file, rows);
    expect(await setAsideMalformedLines(file, `${file}.passed`, `${file}.aside`)).toBe(0);
    expect(await readFile(`${file}.passed`, 'utf8')).toBe(rows);
    expect(await readFile(`${file}.aside`, 'utf8')).toBe('');
  });
});

// Rows past the sample, a field first sent after the broken lines, broken lines on both sides
// (with their braces balanced: in an array, an unbalanced element runs to the array's end), and
// in one variant a value of the wrong type too, which the rows left after the set-aside refuse.
const ROWS = SPECULATION_SAMPLE_ROWS + 3_000;
const BROKEN: Record<number, Buffer> = {
  10: Buffer.from('{"IndvId":10, this is not json}'),
  [SPECULATION_SAMPLE_ROWS + 100]: Buffer.from('"just a string"'),
  [SPECULATION_SAMPLE_ROWS + 200]: Buffer.concat([
    Buffer.from('{"IndvId":1,"EventType":"caf'),
    Buffer.from([0xe9, 0x22, 0x7d]),
  ]),
};
const MISTYPED = SPECULATION_SAMPLE_ROWS + 300;
const VARIANTS = {
  clean: { broken: false, mistyped: false, rejected: 0 },
  broken: { broken: true, mistyped: false, rejected: 3 },
  'broken and mistyped': { broken: true, mistyped: true, rejected: 4 },
};
type Variant = (typeof VARIANTS)[keyof typeof VARIANTS];
const row = (i: number) =>
  i === MISTYPED
    ? good(i).replace(/"IndvId":\d+/, '"IndvId":2.5')
    : good(i, i === SPECULATION_SAMPLE_ROWS + 500 ? ',"evt_late_field_str":"late"' : '');
const lines = (variant: Variant) =>
  Array.from({ length: ROWS }, (_, i) => {
    if (BROKEN[i]) return variant.broken ? BROKEN[i] : undefined;
    if (i === MISTYPED) return variant.mistyped ? Buffer.from(row(i)) : undefined;
    return Buffer.from(row(i));
  }).filter((l) => l !== undefined);
const FILES = {
  ndjson: {
    format: 'ndjson',
    text: (v: Variant) => Buffer.concat(lines(v).flatMap((l) => [l, Buffer.from('\n')])),
  },
  'json array': {
    format: 'json',
    text: (v: Variant) =>
      Buffer.concat([
        Buffer.from('['),
        ...lines(v).flatMap((l, i) => (i === 0 ? [l] : [Buffer.from(',\n'), l])),
        Buffer.from(']'),
      ]),
  },
} as const;
const fileOf = (name: string, variant: string, format: string) =>
  path.join(tempDir(), `${name}-${variant}.${format}.gz`.replaceAll(' ', '-'));

beforeAll(async () => {
  for (const [name, { format, text }] of Object.entries(FILES))
    for (const [variant, shape] of Object.entries(VARIANTS))
      await writeFile(fileOf(name, variant, format), gzipSync(text(shape)));
});

describe.each(Object.keys(SINKS) as (keyof typeof SINKS)[])('%s', (sinkName) => {
  it.each(
    Object.keys(FILES).flatMap((name) =>
      ['broken', 'broken and mistyped'].map((variant) => [name, variant]),
    ) as [keyof typeof FILES, 'broken' | 'broken and mistyped'][],
  )(
    'loads %s (%s) as the same file without its bad lines, and quarantines those',
    async (name, variant) => {
      const { format } = FILES[name];
      const load = (which: keyof typeof VARIANTS) =>
        loadFresh(sinkName, `${sinkName}_${name}_${variant}_${which}`.replace(/\W/g, '_'), {
          exportId: 'e',
          kind: 'events',
          format,
          file: fileOf(name, which, format),
        });
      const before = await readdir(tempDir());
      const bad = await load(variant);
      const clean = await load('clean');
      const rows = ROWS - Object.keys(BROKEN).length - 1;
      expect(clean.result).toMatchObject({ rows, rejected: 0 });
      expect(bad.result).toMatchObject({ rows, rejected: VARIANTS[variant].rejected });
      expect(bad.result.newColumns).toContain('evt_late_field_str');
      expect(bad.result.carefulBecause).toMatch(/Malformed JSON/);
      expect(bad.digest).toEqual(clean.digest);
      // Nothing left beside the staged file (the split array, the rows passed, the set-aside).
      const after = (await readdir(tempDir())).filter((f) => !before.includes(f));
      expect(after.filter((f) => f.includes('.gz.'))).toEqual([]);
    },
  );
});
