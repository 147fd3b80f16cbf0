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
 * DuckDB settings for a load: a memory cap so a big export streams instead of filling RAM (DuckDB
 * spills to disk past it), and no insertion-order guarantee, which lets it stream in parallel.
 */
export const DUCKDB_LOAD_SETTINGS: Record<string, string> = {
  memory_limit: '1GB',
  preserve_insertion_order: 'false',
};
