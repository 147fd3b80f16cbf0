import { randomBytes } from 'node:crypto';
import { mkdtemp } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import type { ExportKind } from '@fsx/export-schema';
import type {} from '@fsx/testing';
import { afterAll, beforeAll, inject } from 'vitest';
import { DuckDbSink, FilesSink, type LoadInput, PostgresSink } from './index.js';

type AnySink = DuckDbSink | PostgresSink | FilesSink;

/**
 * Every kind of sink, a fresh one per load (`at` names it), so no load's new columns are known to
 * the next: a DuckDB file (two threads or one), a PostgreSQL schema, Parquet or NDJSON files, all
 * under one temporary folder, `dir()`. The file's PostgreSQL schemas are dropped after it.
 */
export function useFreshSinks(name: string) {
  let dir = '';
  const schema = `${name.replace(/\W/g, '_')}_${randomBytes(4).toString('hex')}`;
  /** For the schemas only: each load's PostgreSQL sink is its own. */
  let pg: PostgresSink;
  beforeAll(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), `fsx-${name}-`));
    pg = new PostgresSink({ connectionString: inject('postgresUrl') });
  });
  afterAll(async () => {
    const schemas = await pg.query<{ name: string }>(
      'SELECT nspname AS name FROM pg_namespace WHERE starts_with(nspname, $1)',
      [schema],
    );
    for (const { name } of schemas.rows) await pg.query(`DROP SCHEMA ${name} CASCADE`);
    await pg.close();
  });
  const sinks = {
    duckdb: (at) => new DuckDbSink({ path: path.join(dir, `${at}.duckdb`) }),
    'duckdb on one thread': (at) =>
      new DuckDbSink({ path: path.join(dir, `${at}.duckdb`), threads: 1 }),
    postgres: async (at) => {
      await pg.query(`CREATE SCHEMA ${schema}_${at}`);
      return new PostgresSink({
        connectionString: inject('postgresUrl'),
        schema: `${schema}_${at}`,
      });
    },
    'parquet files': (at) => new FilesSink({ dir: path.join(dir, at) }),
    'ndjson files': (at) => new FilesSink({ dir: path.join(dir, at), format: 'ndjson' }),
  } satisfies Record<string, (at: string) => AnySink | Promise<AnySink>>;
  /** Loads `input` into a fresh sink of `kind` named `at`; its result and the rows' digest. */
  const loadFresh = async (kind: keyof typeof sinks, at: string, input: LoadInput) => {
    const sink = await sinks[kind](at);
    try {
      const result = await sink.load(input);
      return { result, digest: await sink.digest(input.kind as ExportKind, input.exportId) };
    } finally {
      if (sink instanceof PostgresSink) await sink.close();
    }
  };
  return { dir: () => dir, sinks, loadFresh };
}
