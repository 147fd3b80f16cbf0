import { randomBytes } from 'node:crypto';
import { mkdtemp, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { generateExportFile } from '@fsx/fullstory-sim';
import type {} from '@fsx/testing';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { PostgresSink } from './index.js';

// Loads that meet other sessions' locks: an analyst's open transaction, another export's load,
// another load of the same export. None may wait without end.
let dir: string;
const schema = `lk_${randomBytes(4).toString('hex')}`;
const sinks: PostgresSink[] = [];
const clients: pg.Client[] = [];
const LOCK_TIMEOUT_MS = 300;

function sink(options: Partial<ConstructorParameters<typeof PostgresSink>[0]> = {}) {
  const created = new PostgresSink({
    connectionString: inject('postgresUrl'),
    schema,
    lockTimeoutMs: LOCK_TIMEOUT_MS,
    ...options,
  });
  sinks.push(created);
  return created;
}

async function session(): Promise<pg.Client> {
  const client = new pg.Client({ connectionString: inject('postgresUrl') });
  await client.connect();
  clients.push(client);
  return client;
}

/** `work`, or a rejection naming `what` if it is not done within `ms`: a hang fails, not stalls. */
function within<T>(ms: number, what: string, work: Promise<T>): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what}: still waiting after ${ms} ms`)), ms);
  });
  return Promise.race([work, late]).finally(() => clearTimeout(timer));
}

/** A sink whose loads stop before COMMIT (rows copied, locks held) until `release`. */
function holdingBeforeCommit() {
  let release = () => {};
  const gate = new Promise<void>((resolve) => {
    release = resolve;
  });
  let copied = () => {};
  const inTransaction = new Promise<void>((resolve) => {
    copied = resolve;
  });
  const holding = sink({
    beforeCommit: async () => {
      copied();
      await gate;
    },
  });
  return { holding, inTransaction, release: () => release() };
}

async function eventsFile(name: string, rows: number) {
  const file = path.join(dir, `${name}.ndjson.gz`);
  const generated = await generateExportFile({
    path: file,
    type: 'events',
    format: 'ndjson',
    rows,
    seed: name,
  });
  return { file, hash: generated.hash };
}

beforeAll(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'fsx-pg-locks-'));
  await sink().query(`CREATE SCHEMA ${schema}`);
  const { file } = await eventsFile('first', 50);
  await sink().load({ exportId: 'first', kind: 'events', format: 'ndjson', file });
});
afterAll(async () => {
  await Promise.all(clients.map((c) => c.end().catch(() => undefined)));
  await sinks[0]?.query(`DROP SCHEMA ${schema} CASCADE`);
  await Promise.all(sinks.map((s) => s.close()));
});

describe('PostgresSink and other sessions’ locks', () => {
  it('a new column behind an analyst’s open transaction: sink.busy within the lock timeout, then it loads', async () => {
    const analyst = await session();
    await analyst.query('BEGIN');
    await analyst.query(`SELECT count(*) FROM ${schema}.events`);
    const file = path.join(dir, 'new-field.ndjson');
    const row = { EventStart: '2024-01-01T00:00:00Z', EventType: 'click', late_field_str: 'x' };
    await writeFile(file, `${JSON.stringify(row)}\n`);
    const input = { exportId: 'new-field', kind: 'events', format: 'ndjson', file } as const;

    const started = Date.now();
    await expect(within(10_000, 'the load', sink().load(input))).rejects.toMatchObject({
      code: 'sink.busy',
      message: expect.stringContaining(`adding columns to "${schema}".events`),
    });
    expect(Date.now() - started).toBeLessThan(LOCK_TIMEOUT_MS + 5_000);
    // The analyst's transaction is untouched, and the table is as it was.
    expect((await analyst.query(`SELECT count(*)::int AS n FROM ${schema}.events`)).rows).toEqual([
      { n: 50 },
    ]);
    await analyst.query('COMMIT');

    const result = await sink().load(input);
    expect(result).toMatchObject({ rows: 1, newColumns: ['late_field_str'] });
  });

  it('a load does not wait for another export’s load that has not committed yet', async () => {
    const held = await eventsFile('held', 40);
    const other = await eventsFile('other', 30);
    const { holding, inTransaction, release } = holdingBeforeCommit();
    const first = holding.load({ exportId: 'held', kind: 'events', format: 'ndjson', ...held });
    await inTransaction;
    try {
      const second = sink();
      await within(
        10_000,
        'the other export',
        second.load({ exportId: 'other', kind: 'events', format: 'ndjson', file: other.file }),
      );
      expect(await second.digest('events', 'other')).toEqual({ count: 30, hash: other.hash });
    } finally {
      release();
    }
    await first;
    expect(await holding.digest('events', 'held')).toEqual({ count: 40, hash: held.hash });
  });

  it('a second load of the same export steps back as sink.busy while the first holds it, and the first’s rows stand', async () => {
    const same = await eventsFile('same', 25);
    const input = { exportId: 'same', kind: 'events', format: 'ndjson', file: same.file } as const;
    const { holding, inTransaction, release } = holdingBeforeCommit();
    const first = holding.load(input);
    await inTransaction;
    try {
      await expect(within(10_000, 'the second load', sink().load(input))).rejects.toMatchObject({
        code: 'sink.busy',
        message: expect.stringContaining('loading export same into'),
      });
    } finally {
      release();
    }
    await first;
    expect(await sink().digest('events', 'same')).toEqual({ count: 25, hash: same.hash });
  });
});
