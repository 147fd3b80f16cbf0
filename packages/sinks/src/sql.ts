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
