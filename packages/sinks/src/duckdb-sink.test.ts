import { mkdtemp, readFile, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { gunzipSync, gzipSync } from 'node:zlib';
import { generateExportFile } from '@fsx/fullstory-sim';
import { beforeAll, describe, expect, it } from 'vitest';
import { DuckDbSink } from './index.js';

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'fsx-duck-'));
});

describe('DuckDbSink', () => {
  it.each([
    ['events', 'json'],
    ['events', 'ndjson'],
    ['events', 'csv'],
    ['individuals', 'json'],
    ['individuals', 'csv'],
  ] as const)('loads %s as %s with exactly the generated rows', async (kind, format) => {
    const file = path.join(dir, `${kind}.${format}.gz`);
    const generated = await generateExportFile({ path: file, type: kind, format, rows: 700 });
    const sink = new DuckDbSink({ path: path.join(dir, `${kind}-${format}.duckdb`) });
    const result = await sink.load({ exportId: 'exp-1', kind, format, file });
    expect(result.rows).toBe(700);
    expect(result.carefulBecause).toBeUndefined(); // A clean file loads on the fast path.
    expect(await sink.digest(kind, 'exp-1')).toEqual({ count: 700, hash: generated.hash });
  });

  it('loads a JSON array on the fast path under a memory limit too small for two readers', async () => {
    // Speculating, the key pass and the load each hold a JSON reader's buffers: at 96MB they ran
    // out of memory, and 1M rows took the careful path (97 s instead of 15).
    const file = path.join(dir, 'small-memory.json.gz');
    const generated = await generateExportFile({
      path: file,
      type: 'events',
      format: 'json',
      rows: 40_000,
    });
    const sink = new DuckDbSink({
      path: path.join(dir, 'small-memory.duckdb'),
      memoryLimit: '96MB',
    });
    const result = await sink.load({ exportId: 'small', kind: 'events', format: 'json', file });
    expect(result.carefulBecause).toBeUndefined();
    expect(await sink.digest('events', 'small')).toEqual({ count: 40_000, hash: generated.hash });
  }, 60_000);

  it('replaces an export on a re-run instead of duplicating it, and keeps other exports', async () => {
    const sink = new DuckDbSink({ path: path.join(dir, 'rerun.duckdb') });
    const a = path.join(dir, 'a.ndjson.gz');
    const b = path.join(dir, 'b.ndjson.gz');
    const infoA = await generateExportFile({
      path: a,
      type: 'events',
      format: 'ndjson',
      rows: 300,
      seed: 'a',
    });
    const infoB = await generateExportFile({
      path: b,
      type: 'events',
      format: 'ndjson',
      rows: 200,
      seed: 'b',
    });
    await sink.load({ exportId: 'A', kind: 'events', format: 'ndjson', file: a });
    await sink.load({ exportId: 'B', kind: 'events', format: 'ndjson', file: b });
    await sink.load({ exportId: 'A', kind: 'events', format: 'ndjson', file: a });
    expect(await sink.digest('events', 'A')).toEqual({ count: 300, hash: infoA.hash });
    expect(await sink.digest('events', 'B')).toEqual({ count: 200, hash: infoB.hash });
  });

  it('keeps ids above 2^53 to the digit', async () => {
    const file = path.join(dir, 'ids.json.gz');
    await generateExportFile({ path: file, type: 'individuals', format: 'json', rows: 50 });
    const sink = new DuckDbSink({ path: path.join(dir, 'ids.duckdb') });
    await sink.load({ exportId: 'ids', kind: 'individuals', format: 'json', file });
    const ids = await sink.withConnection(async (db) =>
      (
        await db.runAndReadAll(
          'SELECT "IndvId"::VARCHAR AS id FROM individuals ORDER BY "IndvId" LIMIT 2',
        )
      ).getRowObjectsJS(),
    );
    expect(ids.map((r) => r.id)).toEqual(['9007199254740993', String(9007199254740993n + 104729n)]);
  });

  it('quarantines a broken line and a mistyped value of a 20,000-row export of 4 KB rows within the default memory limit', async () => {
    // The careful path once ran a JSON function per column, each with its own parse arena, and
    // ran out of memory from about 20k rows (even at 512 MB), failing the export it should load;
    // then, on rows of 4 KB, reading the rows out of the per-line transform did. The mistyped
    // value sends the load through the checks of every line in SQL after the set-aside.
    const file = path.join(dir, 'big-broken.ndjson.gz');
    await generateExportFile({ path: file, type: 'events', format: 'ndjson', rows: 20_000 });
    // Rows of 4 KB, as exports with long URLs or custom properties have.
    const note = 'n'.repeat(4_000);
    const lines = gunzipSync(await readFile(file))
      .toString()
      .split('\n')
      .map((line) => line.replace(/}$/, `,"evt_note_str":"${note}"}`));
    lines.splice(10_000, 0, '{"IndvId": broken');
    lines[15_000] = lines[15_000]!.replace(/"IndvId":\d+/, '"IndvId":1.5');
    await writeFile(file, gzipSync(lines.join('\n')));
    const sink = new DuckDbSink({ path: path.join(dir, 'big-broken.duckdb') });
    const result = await sink.load({ exportId: 'big', kind: 'events', format: 'ndjson', file });
    expect(result).toMatchObject({ rows: 19_999, rejected: 2 });
    const quarantined = await sink.withConnection(async (db) =>
      (
        await db.runAndReadAll('SELECT line, reason FROM quarantine ORDER BY line')
      ).getRowObjectsJS(),
    );
    expect(quarantined).toEqual([
      { line: 10_001n, reason: 'malformed JSON' },
      { line: 15_001n, reason: 'a value of the wrong type' },
    ]);
  });

  it('leaves the previous rows in place when a load fails part-way', async () => {
    const sink = new DuckDbSink({ path: path.join(dir, 'atomic.duckdb') });
    const good = path.join(dir, 'good.csv.gz');
    const info = await generateExportFile({ path: good, type: 'events', format: 'csv', rows: 100 });
    await sink.load({ exportId: 'X', kind: 'events', format: 'csv', file: good });
    await expect(
      sink.load({
        exportId: 'X',
        kind: 'events',
        format: 'csv',
        file: path.join(dir, 'missing.csv.gz'),
      }),
    ).rejects.toMatchObject({
      code: 'sink.load_failed',
    });
    expect(await sink.digest('events', 'X')).toEqual({ count: 100, hash: info.hash });
  });
});

describe('DuckDbSink under concurrency', () => {
  it('keeps every load when one process runs several at once on the same file', async () => {
    const file = path.join(dir, 'concurrent.duckdb');
    const inputs = await Promise.all(
      [0, 1, 2, 3, 4, 5].map(async (i) => {
        const staged = path.join(dir, `concurrent-${i}.ndjson.gz`);
        const info = await generateExportFile({
          path: staged,
          type: 'events',
          format: 'ndjson',
          rows: 300,
          seed: `c${i}`,
        });
        return { staged, info, id: `c-${i}` };
      }),
    );
    // Separate sink objects, as separate jobs in one worker process would have.
    await Promise.all(
      inputs.map(({ staged, id }) =>
        new DuckDbSink({ path: file }).load({
          exportId: id,
          kind: 'events',
          format: 'ndjson',
          file: staged,
        }),
      ),
    );
    for (const { id, info } of inputs) {
      expect(await new DuckDbSink({ path: file }).digest('events', id)).toEqual({
        count: 300,
        hash: info.hash,
      });
    }
  });
});
