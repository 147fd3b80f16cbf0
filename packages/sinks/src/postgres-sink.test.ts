import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtemp, readdir, readFile, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { gunzipSync, gzipSync } from 'node:zlib';
import { generateExportFile } from '@fsx/fullstory-sim';
import type {} from '@fsx/testing';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { PostgresSink } from './index.js';

let dir: string;
const schema = `t_${randomBytes(4).toString('hex')}`;
const sinks: PostgresSink[] = [];
function sink(options: Partial<ConstructorParameters<typeof PostgresSink>[0]> = {}) {
  const created = new PostgresSink({ connectionString: inject('postgresUrl'), schema, ...options });
  sinks.push(created);
  return created;
}

beforeAll(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'fsx-pg-sink-'));
  const admin = sink();
  await admin.query(`CREATE SCHEMA ${schema}`);
});
afterAll(async () => {
  await sinks[0]?.query(`DROP SCHEMA ${schema} CASCADE`);
  await Promise.all(sinks.map((s) => s.close()));
});

describe('PostgresSink', () => {
  it.each([
    ['events', 'json'],
    ['events', 'ndjson'],
    ['events', 'csv'],
    ['individuals', 'ndjson'],
    ['individuals', 'csv'],
  ] as const)('loads %s as %s with exactly the generated rows', async (kind, format) => {
    const file = path.join(dir, `${kind}.${format}.gz`);
    const generated = await generateExportFile({
      path: file,
      type: kind,
      format,
      rows: 500,
      seed: `${kind}${format}`,
    });
    const pgSink = sink();
    const result = await pgSink.load({ exportId: `${kind}-${format}`, kind, format, file });
    expect(result).toMatchObject({ rows: 500, rejected: 0 });
    expect(await pgSink.digest(kind, `${kind}-${format}`)).toEqual({
      count: 500,
      hash: generated.hash,
    });
  });

  it('keeps ids above 2^53 exact as BIGINT', async () => {
    const file = path.join(dir, 'ids.json.gz');
    await generateExportFile({ path: file, type: 'individuals', format: 'json', rows: 5 });
    const pgSink = sink();
    await pgSink.load({ exportId: 'ids', kind: 'individuals', format: 'json', file });
    const { rows } = await pgSink.query<{ id: string; type: string }>(
      `SELECT "IndvId"::text AS id, pg_typeof("IndvId")::text AS type FROM ${schema}.individuals WHERE export_id = 'ids' ORDER BY "IndvId" LIMIT 1`,
    );
    expect(rows[0]).toEqual({ id: '9007199254740993', type: 'bigint' });
  });

  it('types every custom-field suffix', async () => {
    const { rows } = await sink().query<{ column_name: string; data_type: string }>(
      `SELECT column_name, data_type FROM information_schema.columns WHERE table_schema = $1 AND table_name = 'events'
       AND column_name LIKE 'evt\\_%' OR (table_schema = $1 AND column_name LIKE 'user\\_%' AND table_name = 'events') ORDER BY 1`,
      [schema],
    );
    expect(Object.fromEntries(rows.map((r) => [r.column_name, r.data_type]))).toMatchObject({
      evt_price_real: 'double precision',
      evt_plan_str: 'text',
      evt_quantity_int: 'bigint',
      evt_gift_bool: 'boolean',
      'evt_order.order_id_str': 'text',
      user_signup_date: 'timestamp with time zone',
    });
  });

  it('re-running an export replaces its rows: no duplicate', async () => {
    const file = path.join(dir, 'rerun.csv.gz');
    const generated = await generateExportFile({
      path: file,
      type: 'events',
      format: 'csv',
      rows: 300,
      seed: 'rerun',
    });
    const pgSink = sink();
    await pgSink.load({ exportId: 'rerun', kind: 'events', format: 'csv', file });
    await pgSink.load({ exportId: 'rerun', kind: 'events', format: 'csv', file });
    expect(await pgSink.digest('events', 'rerun')).toEqual({ count: 300, hash: generated.hash });
  });

  it('a crash after the rows are copied, before commit, leaves the previous rows intact', async () => {
    const first = path.join(dir, 'crash-a.ndjson.gz');
    const second = path.join(dir, 'crash-b.ndjson.gz');
    const before = await generateExportFile({
      path: first,
      type: 'events',
      format: 'ndjson',
      rows: 200,
      seed: 'crash-a',
    });
    await generateExportFile({
      path: second,
      type: 'events',
      format: 'ndjson',
      rows: 250,
      seed: 'crash-b',
    });
    await sink().load({ exportId: 'crash', kind: 'events', format: 'ndjson', file: first });
    const crashing = sink({
      beforeCommit: async (client) => {
        // The worker dies here: its connection goes, mid-transaction.
        (
          client as unknown as { connection: { stream: { destroy(): void } } }
        ).connection.stream.destroy();
        throw new Error('worker killed');
      },
    });
    await expect(
      crashing.load({ exportId: 'crash', kind: 'events', format: 'ndjson', file: second }),
    ).rejects.toMatchObject({
      code: 'sink.load_failed',
    });
    expect(await sink().digest('events', 'crash')).toEqual({ count: 200, hash: before.hash });
  });

  it('a JSON array DuckDB refuses mid-stream loads carefully: the bad element quarantined, no FIFO left', async () => {
    const good = path.join(dir, 'broken-a.json.gz');
    const generated = await generateExportFile({
      path: good,
      type: 'events',
      format: 'json',
      rows: 50,
      seed: 'broken',
    });
    // An element that is not an object, at the end of the array: the key scan passes, DuckDB's
    // read fails while it writes into the FIFO, the COPY reading the other end must end too, and
    // the careful path then splits the array and quarantines that element alone.
    const broken = path.join(dir, 'broken-b.json.gz');
    const text = gunzipSync(await readFile(good)).toString('utf8');
    await writeFile(broken, gzipSync(`${text.slice(0, text.lastIndexOf(']'))},\n"not a row"]`));
    const pgSink = sink();
    expect(
      await pgSink.load({ exportId: 'broken', kind: 'events', format: 'json', file: broken }),
    ).toMatchObject({ rows: 50, rejected: 1 });
    expect(await pgSink.digest('events', 'broken')).toEqual({ count: 50, hash: generated.hash });
    const { rows } = await pgSink.query(
      `SELECT line, reason, raw FROM ${schema}.quarantine WHERE export_id = 'broken'`,
    );
    expect(rows).toEqual([{ line: '51', reason: 'not a JSON object', raw: '"not a row"' }]);
    expect(
      (await readdir(dir)).filter((f) => f.endsWith('.fifo') || f.includes('careful')),
    ).toEqual([]);
  }, 15_000);

  it('loads through DuckDB with a one-thread libuv pool: the FIFO is not read on it', async () => {
    // DuckDB's query runs on libuv's pool and blocks writing the FIFO until someone reads it; a
    // reader on the same pool waited behind such queries forever (with one thread, behind the first).
    const file = path.join(dir, 'one-thread-pool.ndjson.gz');
    await generateExportFile({ path: file, type: 'events', format: 'ndjson', rows: 2_000 });
    const fixture = path.join(import.meta.dirname, 'fixtures', 'load-once.ts');
    const args = ['postgres', inject('postgresUrl'), schema, file, 'one-thread-pool', 'ndjson'];
    const { stdout } = await promisify(execFile)(
      process.execPath,
      ['--import', 'tsx', fixture, ...args],
      { env: { ...process.env, UV_THREADPOOL_SIZE: '1' }, timeout: 20_000 },
    );
    expect(JSON.parse(stdout)).toMatchObject({ rows: 2_000, rejected: 0 });
  });

  it('a file that cannot be read at all fails the load with the reason and keeps the old rows', async () => {
    const good = path.join(dir, 'unreadable-a.json.gz');
    const generated = await generateExportFile({
      path: good,
      type: 'events',
      format: 'json',
      rows: 20,
      seed: 'unreadable',
    });
    const pgSink = sink();
    await pgSink.load({ exportId: 'unreadable', kind: 'events', format: 'json', file: good });
    const notAnArray = path.join(dir, 'unreadable-b.json.gz');
    await writeFile(notAnArray, gzipSync('{"IndvId": 1, "EventType": '));
    await expect(
      pgSink.load({ exportId: 'unreadable', kind: 'events', format: 'json', file: notAnArray }),
    ).rejects.toMatchObject({ code: 'sink.load_failed', message: expect.stringMatching(/JSON/) });
    expect(await pgSink.digest('events', 'unreadable')).toEqual({
      count: 20,
      hash: generated.hash,
    });
  });

  it('a value COPY refuses as text but the field type allows (12.0 for an id) loads through the careful path', async () => {
    const file = path.join(dir, 'float-id.ndjson.gz');
    await writeFile(
      file,
      gzipSync(
        '{"IndvId":12.0,"EventStart":"2026-11-01T00:00:00Z","EventType":"click"}\n{"IndvId":13,"EventStart":"2026-11-01T00:00:01Z","EventType":"click"}\n',
      ),
    );
    const pgSink = sink();
    expect(
      await pgSink.load({ exportId: 'float-id', kind: 'events', format: 'ndjson', file }),
    ).toMatchObject({ rows: 2, rejected: 0 });
    const { rows } = await pgSink.query<{ id: string }>(
      `SELECT "IndvId"::text AS id FROM ${schema}.events WHERE export_id = 'float-id' ORDER BY 1`,
    );
    expect(rows.map((r) => r.id)).toEqual(['12', '13']);
  });

  it('loads into a table an earlier fsx created (export_id without a default, a B-tree index)', async () => {
    const legacy = `l_${randomBytes(4).toString('hex')}`;
    const admin = sink();
    await admin.query(`CREATE SCHEMA ${legacy}`);
    await admin.query(
      `CREATE TABLE ${legacy}.events (export_id TEXT NOT NULL, loaded_at TIMESTAMPTZ NOT NULL DEFAULT now())`,
    );
    await admin.query(`CREATE INDEX events_export_id ON ${legacy}.events (export_id)`);
    const file = path.join(dir, 'legacy.csv.gz');
    const generated = await generateExportFile({
      path: file,
      type: 'events',
      format: 'csv',
      rows: 40,
      seed: 'legacy',
    });
    const legacySink = sink({ schema: legacy });
    await legacySink.load({ exportId: 'legacy', kind: 'events', format: 'csv', file });
    expect(await legacySink.digest('events', 'legacy')).toEqual({
      count: 40,
      hash: generated.hash,
    });
    await admin.query(`DROP SCHEMA ${legacy} CASCADE`);
  });
});
