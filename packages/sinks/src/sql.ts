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

/**
 * The field types whose values are read as text and cast here, strictly: DuckDB's own readers
 * cast a JSON `1.5` (or a CSV's) into a BIGINT as 2, a `7` into a BOOLEAN as true and `true` into
 * a DOUBLE as 1.0, silently (duckdb/duckdb#25786).
 */
export const STRICT_TYPES: ReadonlySet<FieldType> = new Set(['int64', 'bool', 'number']);

/** The largest whole number a DOUBLE holds exactly. */
const EXACT_DOUBLE = 2 ** 53;

/**
 * An int64's text `t` as SQL conditions: `plain`, digits alone (cast exactly); `whole`, written
 * with a fraction or an exponent but whole and exact as a DOUBLE (`12.0`, `1e3`). Anything else
 * (`1.5`, `9007199254740993.0`) would be rounded.
 */
function integerText(t: string) {
  const d = `try_cast(${t} AS DOUBLE)`;
  return {
    plain: `NOT (contains(${t}, '.') OR contains(${t}, 'e') OR contains(${t}, 'E'))`,
    whole: `(${d} = trunc(${d}) AND abs(${d}) <= ${EXACT_DOUBLE})`,
  };
}

/** Whether a value's text `t` is one of `type`'s, as SQL (NULL passes). */
export function fitsType(t: string, type: FieldType): string {
  if (type === 'int64') {
    const { plain, whole } = integerText(t);
    return `(${t} IS NULL OR CASE WHEN ${plain} THEN try_cast(${t} AS BIGINT) IS NOT NULL ELSE coalesce(${whole}, false) END)`;
  }
  if (type === 'bool') return `(${t} IS NULL OR ${t} IN ('true', 'false'))`;
  return `(${t} IS NULL OR try_cast(${t} AS ${DUCKDB_TYPES[type]}) IS NOT NULL)`;
}

/**
 * `from` with the values of `columns` whose type is among STRICT_TYPES, read there as text, cast
 * strictly (see castStrictly).
 */
export function castingStrictly(
  columns: { name: string; type: FieldType }[],
  from: string,
): string {
  const casts = columns
    .filter((c) => STRICT_TYPES.has(c.type))
    .map((c) => `${castStrictly(ident(c.name), c.type, c.name)} AS ${ident(c.name)}`);
  return casts.length > 0 ? `(SELECT * REPLACE (${casts.join(', ')}) FROM ${from})` : from;
}

/**
 * A value's text `t` as `type`, strictly, as SQL: a value that is not one (`1.5` for an int64)
 * fails the query, naming `name`, where a cast would have rounded it.
 */
export function castStrictly(t: string, type: FieldType, name: string): string {
  const what = type === 'int64' ? 'an integer' : type === 'bool' ? 'a boolean' : `a ${type}`;
  const refuse = `error(concat(${literal(`${name}: not ${what}: `)}, ${t}))`;
  if (type === 'int64') {
    const { plain, whole } = integerText(t);
    return `CASE WHEN ${t} IS NULL OR ${plain} THEN CAST(${t} AS BIGINT) WHEN ${whole} THEN CAST(CAST(${t} AS DOUBLE) AS BIGINT) ELSE ${refuse} END`;
  }
  if (type === 'bool')
    return `CASE ${t} WHEN 'true' THEN true WHEN 'false' THEN false ELSE CASE WHEN ${t} IS NULL THEN NULL ELSE ${refuse} END END`;
  return `CAST(${t} AS ${DUCKDB_TYPES[type]})`;
}

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
