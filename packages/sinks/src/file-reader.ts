import type { DuckDBConnection } from '@duckdb/node-api';
import { type ExportKind, type FieldType, fieldType } from '@fsx/export-schema';
import type { LoadInput } from './sink.js';
import { DUCKDB_TYPES, ident, literal } from './sql.js';

export interface FileColumn {
  name: string;
  type: FieldType;
}

/**
 * How a sink reads a staged gzip, as DuckDB SQL: `rows` yields typed rows (ids exact BIGINTs,
 * timestamps TIMESTAMPTZ, whatever DuckDB would guess); `rejects` yields the rows that cannot be
 * read, with line, reason and raw text, for the quarantine. DuckDB decompresses and parses in
 * C++, streaming: every sink loads through it.
 */
export interface FileReader {
  columns: FileColumn[];
  rows: string;
  rejects: string;
}

// Each NDJSON line as one text value: \x01 never appears unescaped in JSON, so nothing splits.
const rawLines = (file: string) =>
  `(SELECT row_number() OVER () AS line, raw FROM read_csv(${literal(file)}, columns = {'raw': 'VARCHAR'}, header = false, delim = E'\\x01', quote = '', escape = '', auto_detect = false) WHERE trim(raw) <> '')`;

const jsonPath = (name: string) => literal(`$."${name.replaceAll('"', '\\"')}"`);

async function ndjsonColumns(db: DuckDBConnection, input: LoadInput): Promise<string[]> {
  const keys = await db.runAndReadAll(
    `SELECT DISTINCT unnest(json_keys(raw)) AS k FROM ${rawLines(input.file)} WHERE json_valid(raw) ORDER BY k`,
  );
  return keys.getRowObjectsJS().map((r) => String(r.k));
}

async function describedColumns(db: DuckDBConnection, input: LoadInput): Promise<string[]> {
  const file = literal(input.file);
  const source =
    input.format === 'csv'
      ? `read_csv(${file}, header = true, all_varchar = true)`
      : `read_json(${file}, format = 'array', sample_size = -1)`;
  const described = await db.runAndReadAll(`DESCRIBE SELECT * FROM ${source}`);
  return described.getRowObjectsJS().map((row) => String(row.column_name));
}

function ndjsonReader(input: LoadInput, columns: FileColumn[]): FileReader {
  const structure = literal(
    JSON.stringify(Object.fromEntries(columns.map((c) => [c.name, DUCKDB_TYPES[c.type]]))),
  );
  // A present, non-null value that did not survive the typed transform is a wrong-typed value.
  const mistyped = columns
    .map(
      (c) =>
        `(coalesce(json_type(raw, ${jsonPath(c.name)}) <> 'NULL', false) AND t.${ident(c.name)} IS NULL)`,
    )
    .join(' OR ');
  const parsed = `(SELECT line, raw, CASE WHEN json_valid(raw) THEN json_transform(raw, ${structure}) END AS t FROM ${rawLines(input.file)})`;
  return {
    columns,
    rows: `(SELECT unnest(t) FROM ${parsed} WHERE t IS NOT NULL AND NOT (${mistyped || 'false'}))`,
    rejects: `(SELECT line, CASE WHEN t IS NULL THEN 'malformed JSON' ELSE 'a value of the wrong type' END AS reason, raw
               FROM ${parsed} WHERE t IS NULL OR (${mistyped || 'false'}))`,
  };
}

/**
 * CSV: DuckDB keeps rows it cannot read in `reject_errors` (store_rejects) instead of failing.
 * It reads an unparsable timestamp as NULL, though, so timestamps are read as text and cast here,
 * and a value that does not cast is a rejected row like any other.
 */
function csvReader(input: LoadInput, columns: FileColumn[]): FileReader {
  const file = literal(input.file);
  const asText = columns.map((c) =>
    c.type === 'timestamp' ? { ...c, type: 'string' as const } : c,
  );
  const source = (rejects: string) =>
    `read_csv(${file}, header = true, quote = '"', escape = '"', types = ${typeList(asText)}, ${rejects})`;
  const timestamps = columns.filter((c) => c.type === 'timestamp').map((c) => ident(c.name));
  const casts = timestamps.map((c) => `try_cast(${c} AS TIMESTAMPTZ) AS ${c}`).join(', ');
  const mistyped =
    timestamps
      .map((c) => `(${c} IS NOT NULL AND try_cast(${c} AS TIMESTAMPTZ) IS NULL)`)
      .join(' OR ') || 'false';
  const all = columns.map((c) => ident(c.name)).join(', ');
  return {
    columns,
    rows: `(SELECT * ${casts ? `REPLACE (${casts})` : ''} FROM ${source('store_rejects = true')} WHERE NOT (${mistyped}))`,
    rejects: `(SELECT line, error_type || ': ' || error_message AS reason, trim(csv_line, E'\r\n') AS raw FROM reject_errors
               UNION ALL
               SELECT NULL::BIGINT, 'CAST: a value that is not a timestamp', concat_ws(',', ${all})
               FROM ${source('ignore_errors = true')} WHERE ${mistyped})`,
  };
}

function typeList(columns: FileColumn[]): string {
  return `{${columns.map((c) => `${literal(c.name)}: '${DUCKDB_TYPES[c.type]}'`).join(', ')}}`;
}

/** Reads the staged file's columns and returns how to read its rows and its rejects. */
export async function openFileReader(db: DuckDBConnection, input: LoadInput): Promise<FileReader> {
  const names =
    input.format === 'ndjson' ? await ndjsonColumns(db, input) : await describedColumns(db, input);
  const columns = names.map((name) => ({ name, type: fieldType(input.kind as ExportKind, name) }));
  const file = literal(input.file);
  if (input.format === 'ndjson') return ndjsonReader(input, columns);
  if (input.format === 'csv') return csvReader(input, columns);
  // One JSON array: a malformed element breaks the document, so the load fails with the reason.
  return {
    columns,
    rows: `read_json(${file}, format = 'array', columns = ${typeList(columns)})`,
    rejects: '(SELECT NULL::BIGINT AS line, NULL AS reason, NULL AS raw WHERE false)',
  };
}
