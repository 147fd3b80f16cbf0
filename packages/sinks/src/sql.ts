import os from 'node:os';
import type { DuckDBConnection } from '@duckdb/node-api';
import { MIB_PER_LOAD_THREAD, sizeBytes } from '@fsx/config';
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
 * Runs `work` with DuckDB on one thread, then back to the thread count it had (RESET would go to
 * one per core, not the load's own). `threads` is a setting of the whole instance: only for work
 * that has the instance to itself.
 */
export async function onOneThread<T>(db: DuckDBConnection, work: () => Promise<T>): Promise<T> {
  const before = await db.runAndReadAll(`SELECT current_setting('threads') AS n`);
  const threads = Number(before.getRowObjectsJS()[0]?.n);
  await db.run('SET threads = 1');
  try {
    return await work();
  } finally {
    await db.run(`SET threads = ${threads}`).catch(() => undefined);
  }
}

/** Threads for a load under `memoryLimit`: one per core, as many as the memory feeds. */
export function loadThreads(memoryLimit: string, cores = os.availableParallelism()): number {
  const fed = Math.floor(sizeBytes(memoryLimit) / (MIB_PER_LOAD_THREAD * 2 ** 20));
  return Math.max(1, Math.min(cores, fed));
}

/**
 * Whether a load may run two DuckDB readers at once (the speculative JSON-array load): two
 * threads allowed, two cores and memory for both. At 96MB the two ran out of memory, and every
 * JSON array went to the careful path.
 */
export function feedsTwoReaders(
  options: DuckDbLoadOptions,
  cores = os.availableParallelism(),
): boolean {
  const fed = loadThreads(options.memoryLimit ?? DEFAULT_DUCKDB_MEMORY_LIMIT, cores);
  return Math.min(fed, options.threads ?? fed) >= 2;
}

/**
 * DuckDB settings for a load: a memory cap so a big export streams instead of filling RAM (DuckDB
 * spills to disk past it), no more threads than that memory feeds (see MIB_PER_LOAD_THREAD), and
 * no insertion-order guarantee, which lets it stream in parallel.
 */
export function duckdbLoadSettings(options: DuckDbLoadOptions): Record<string, string> {
  const memoryLimit = options.memoryLimit ?? DEFAULT_DUCKDB_MEMORY_LIMIT;
  return {
    memory_limit: memoryLimit,
    threads: String(options.threads ?? loadThreads(memoryLimit)),
    preserve_insertion_order: 'false',
  };
}

/** How much of the machine a sink's DuckDB may use while it loads. */
export interface DuckDbLoadOptions {
  /** DuckDB's memory cap during a load; it spills past it. @defaultValue '256MB' */
  memoryLimit?: string;
  /** DuckDB's threads during a load. @defaultValue one per core, as many as the memory feeds */
  threads?: number;
  /**
   * Where an in-memory DuckDB spills past its memory limit (a folder per load under it). A DuckDB
   * file spills beside itself. @defaultValue the OS's temporary folder
   */
  tempDir?: string;
}
