import type { DuckDBConnection } from '@duckdb/node-api';
import { type ExportKind, type FieldType, fieldType } from '@fsx/export-schema';
import type { LoadInput } from './sink.js';
import { DUCKDB_TYPES, literal } from './sql.js';

export interface FileColumn {
  name: string;
  type: FieldType;
}

const jsonLayout = (format: LoadInput['format']) => (format === 'json' ? 'array' : 'newline_delimited');

/** The fields present in a staged file: the CSV header, or every key of every JSON record. */
export async function fileColumns(db: DuckDBConnection, input: LoadInput): Promise<FileColumn[]> {
  const file = literal(input.file);
  const source =
    input.format === 'csv'
      ? `read_csv(${file}, header = true, all_varchar = true)`
      : `read_json(${file}, format = '${jsonLayout(input.format)}', sample_size = -1)`;
  const described = await db.runAndReadAll(`DESCRIBE SELECT * FROM ${source}`);
  return described.getRowObjectsJS().map((row) => {
    const name = String(row.column_name);
    return { name, type: fieldType(input.kind as ExportKind, name) };
  });
}

/**
 * A DuckDB table function reading the staged gzip with the column types fsx decides (ids exact
 * BIGINTs, timestamps TIMESTAMPTZ), whatever DuckDB would have guessed. DuckDB decompresses and
 * parses in C++, streaming: every sink loads through it.
 */
export function typedReader(input: LoadInput, columns: FileColumn[], options: { rejects?: boolean } = {}): string {
  const types = `{${columns.map((c) => `${literal(c.name)}: '${DUCKDB_TYPES[c.type]}'`).join(', ')}}`;
  const file = literal(input.file);
  if (input.format === 'csv') {
    const rejects = options.rejects ? ', store_rejects = true' : '';
    return `read_csv(${file}, header = true, quote = '"', escape = '"', types = ${types}${rejects})`;
  }
  return `read_json(${file}, format = '${jsonLayout(input.format)}', columns = ${types})`;
}
