import type { DuckDBConnection } from '@duckdb/node-api';
import type { FieldType } from '@fsx/export-schema';

/** A SQL identifier, quoted: FullStory field names may hold dots (`evt_order.order_id_str`). */
export const ident = (name: string) => `"${name.replaceAll('"', '""')}"`;

/** A SQL string literal. */
export const literal = (value: string) => `'${value.replaceAll("'", "''")}'`;

export const DUCKDB_TYPES: Record<FieldType, string> = {
  int64: 'BIGINT',
  timestamp: 'TIMESTAMPTZ',
  string: 'VARCHAR',
  number: 'DOUBLE',
  bool: 'BOOLEAN',
  json: 'JSON',
};

/** DuckDB's memory cap for a load unless configured (bench/ingest: about 5% slower than 1GB, half the RSS). */
export const DEFAULT_DUCKDB_MEMORY_LIMIT = '256MB';

/**
 * Runs `work` with DuckDB on one thread, then back to its default. `threads` is a setting of the
 * whole instance: only for work that has the instance to itself.
 */
export async function onOneThread<T>(db: DuckDBConnection, work: () => Promise<T>): Promise<T> {
  await db.run('SET threads = 1');
  try {
    return await work();
  } finally {
    await db.run('RESET threads').catch(() => undefined);
  }
}

/**
 * DuckDB settings for a load: a memory cap so a big export streams instead of filling RAM (DuckDB
 * spills to disk past it), and no insertion-order guarantee, which lets it stream in parallel.
 */
export function duckdbLoadSettings(
  memoryLimit = DEFAULT_DUCKDB_MEMORY_LIMIT,
): Record<string, string> {
  return { memory_limit: memoryLimit, preserve_insertion_order: 'false' };
}
