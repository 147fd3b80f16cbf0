import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { type DuckDBConnection, DuckDBInstance } from '@duckdb/node-api';
import { type ExportKind, fieldType, type RawValue, RowDigest } from '@fsx/export-schema';
import { type LoadInput, type LoadResult, type Sink, SinkError } from './sink.js';
import { DUCKDB_TYPES, ident, literal } from './sql.js';

export interface DuckDbSinkOptions {
  /** The database file; `:memory:` for tests. */
  path: string;
  /** How long to wait for another process's write lock on the file. @defaultValue 30000 */
  lockWaitMs?: number;
}

const TABLES: Record<ExportKind, string> = { events: 'events', individuals: 'individuals' };
const SYSTEM_COLUMNS = ['export_id', 'loaded_at'];

function reader(input: LoadInput, typeList: string): string {
  const file = literal(input.file);
  if (input.format === 'csv') {
    // Explicit types per column: ids stay exact BIGINTs, timestamps TIMESTAMPTZ, whatever DuckDB would guess.
    return `read_csv(${file}, header = true, quote = '"', escape = '"', types = ${typeList})`;
  }
  const layout = input.format === 'json' ? 'array' : 'newline_delimited';
  return `read_json(${file}, format = '${layout}', columns = ${typeList})`;
}

/**
 * The embedded default sink. DuckDB reads the staged gzip itself (streaming, in C++), so a load
 * costs what DuckDB's own loader costs. DuckDB allows one writing process per file: each load
 * opens the file, waits out another process's lock, and closes it when done.
 */
export class DuckDbSink implements Sink {
  readonly kind = 'duckdb';
  private instance: DuckDBInstance | undefined;

  constructor(private readonly options: DuckDbSinkOptions) {}

  private async open(): Promise<DuckDBConnection> {
    if (this.options.path === ':memory:') {
      this.instance ??= await DuckDBInstance.create(':memory:');
      return this.instance.connect();
    }
    await mkdir(path.dirname(this.options.path), { recursive: true });
    const deadline = Date.now() + (this.options.lockWaitMs ?? 30_000);
    for (let wait = 50; ; wait = Math.min(wait * 2, 1_000)) {
      try {
        this.instance = await DuckDBInstance.create(this.options.path);
        return await this.instance.connect();
      } catch (error) {
        if (!/lock/i.test(String(error)) || Date.now() > deadline) {
          throw new SinkError('sink.busy', `cannot open DuckDB file ${this.options.path}`, {
            cause: error,
          });
        }
        await sleep(wait);
      }
    }
  }

  private release(connection: DuckDBConnection): void {
    connection.closeSync();
    if (this.options.path !== ':memory:') {
      this.instance?.closeSync();
      this.instance = undefined;
    }
  }

  /** Runs `work` on a connection that is closed (and the file unlocked) afterwards. */
  async withConnection<T>(work: (connection: DuckDBConnection) => Promise<T>): Promise<T> {
    const connection = await this.open();
    try {
      return await work(connection);
    } finally {
      this.release(connection);
    }
  }

  async load(input: LoadInput): Promise<LoadResult> {
    const table = TABLES[input.kind];
    return this.withConnection(async (db) => {
      try {
        const fileColumns = await this.fileColumns(db, input);
        const newColumns = await this.ensureColumns(db, table, input.kind, fileColumns);
        const typeList = `{${fileColumns.map((c) => `${literal(c)}: '${DUCKDB_TYPES[fieldType(input.kind, c)]}'`).join(', ')}}`;
        await db.run('BEGIN TRANSACTION');
        await db.run(`DELETE FROM ${table} WHERE export_id = $1`, [input.exportId]);
        const inserted = await db.run(
          `INSERT INTO ${table} BY NAME SELECT $1::VARCHAR AS export_id, * FROM ${reader(input, typeList)}`,
          [input.exportId],
        );
        await db.run('COMMIT');
        return { rows: Number(inserted.rowsChanged), newColumns };
      } catch (error) {
        await db.run('ROLLBACK').catch(() => undefined);
        throw new SinkError(
          'sink.load_failed',
          `loading ${input.file} into DuckDB failed: ${String(error)}`,
          {
            cause: error,
          },
        );
      }
    });
  }

  /** The fields present in the file: the CSV header, or every key of every JSON record. */
  private async fileColumns(db: DuckDBConnection, input: LoadInput): Promise<string[]> {
    const file = literal(input.file);
    const source =
      input.format === 'csv'
        ? `read_csv(${file}, header = true, all_varchar = true)`
        : `read_json(${file}, format = '${input.format === 'json' ? 'array' : 'newline_delimited'}', sample_size = -1)`;
    const described = await db.runAndReadAll(`DESCRIBE SELECT * FROM ${source}`);
    return described.getRowObjectsJS().map((row) => String(row.column_name));
  }

  private async ensureColumns(
    db: DuckDBConnection,
    table: string,
    kind: ExportKind,
    columns: string[],
  ) {
    await db.run(
      `CREATE TABLE IF NOT EXISTS ${table} (export_id VARCHAR NOT NULL, loaded_at TIMESTAMPTZ DEFAULT current_timestamp)`,
    );
    const existing = await db.runAndReadAll(
      `SELECT column_name FROM information_schema.columns WHERE table_name = $1`,
      [table],
    );
    const have = new Set(existing.getRowObjectsJS().map((r) => String(r.column_name)));
    const added: string[] = [];
    for (const column of columns) {
      if (have.has(column)) continue;
      await db.run(
        `ALTER TABLE ${table} ADD COLUMN IF NOT EXISTS ${ident(column)} ${DUCKDB_TYPES[fieldType(kind, column)]}`,
      );
      added.push(column);
    }
    return added;
  }

  /** Count and content hash of one export's rows, comparable with the simulator's (RowDigest). */
  async digest(kind: ExportKind, exportId: string): Promise<{ count: number; hash: string }> {
    return this.withConnection(async (db) => {
      const digest = new RowDigest();
      const exists = await db.runAndReadAll(
        `SELECT count(*) AS n FROM information_schema.tables WHERE table_name = $1`,
        [TABLES[kind]],
      );
      if (Number(exists.getRowObjectsJS()[0]?.n) === 0) return digest.toJSON();
      const result = await db.stream(
        `SELECT * EXCLUDE (${SYSTEM_COLUMNS.join(', ')}) FROM ${TABLES[kind]} WHERE export_id = $1`,
        [exportId],
      );
      for await (const rows of result.yieldRowObjectJs()) {
        for (const row of rows) digest.add(row as Record<string, RawValue>);
      }
      return digest.toJSON();
    });
  }

  async close(): Promise<void> {
    this.instance?.closeSync();
    this.instance = undefined;
  }
}
