import { createReadStream } from 'node:fs';
import { rm } from 'node:fs/promises';
import { pipeline } from 'node:stream/promises';
import { DuckDBInstance } from '@duckdb/node-api';
import { type ExportKind, type FieldType, type RawValue, RowDigest } from '@fsx/export-schema';
import pg from 'pg';
import { from as copyFrom } from 'pg-copy-streams';
import { EVENT_COLUMNS, type EventRecord, type EventStore } from './event-tables.js';
import { type FileColumn, openFileReader, withCarefulRetry } from './file-reader.js';
import { type LoadInput, type LoadResult, type Sink, SinkError } from './sink.js';
import { DUCKDB_LOAD_SETTINGS, ident, literal } from './sql.js';

const PG_TYPES: Record<FieldType, string> = {
  int64: 'BIGINT',
  timestamp: 'TIMESTAMPTZ',
  string: 'TEXT',
  number: 'DOUBLE PRECISION',
  bool: 'BOOLEAN',
  // json, not jsonb: jsonb reorders keys, and the text FullStory sent should come back as sent.
  json: 'JSON',
};
const TABLES: Record<ExportKind, string> = { events: 'events', individuals: 'individuals' };
const SYSTEM_COLUMNS = new Set(['export_id', 'loaded_at']);

export interface PostgresSinkOptions {
  connectionString: string;
  /** @defaultValue 'public' */
  schema?: string;
  /** Test hook: runs after the new rows are copied in, before the transaction commits. */
  beforeCommit?: (client: pg.PoolClient) => Promise<void>;
}

interface Converted {
  csv: string;
  rejects: { line: number; reason: string; raw: string }[];
}

/**
 * PostgreSQL through its bulk loader. DuckDB turns the staged gzip into typed CSV (streaming, in
 * C++), and one transaction deletes the export's old rows and streams the new ones in with
 * `COPY … FROM STDIN`: a re-run or a crash never leaves half an export or a duplicate.
 */
export class PostgresSink implements Sink, EventStore {
  readonly kind = 'postgres';
  private readonly pool: pg.Pool;

  constructor(private readonly options: PostgresSinkOptions) {
    this.pool = new pg.Pool({ connectionString: options.connectionString, max: 4 });
    // A dropped connection rejects the query in flight; the client's 'error' event adds nothing.
    this.pool.on('error', () => {});
    this.pool.on('connect', (client) => client.on('error', () => {}));
  }

  private table(kind: ExportKind): string {
    return `${ident(this.options.schema ?? 'public')}.${TABLES[kind]}`;
  }

  async load(input: LoadInput): Promise<LoadResult> {
    let converted: Converted | undefined;
    let columns: FileColumn[] = [];
    try {
      ({ converted, columns } = await withCarefulRetry(
        (careful) => this.convert(input, careful),
        input.format !== 'json',
      ));
      const newColumns = await this.ensureColumns(input.kind, columns);
      const rows = await this.replaceRows(input, columns, converted);
      return { rows, rejected: converted.rejects.length, newColumns };
    } catch (error) {
      if (error instanceof SinkError) throw error;
      const retryable = /ECONNREFUSED|ECONNRESET|terminat|timeout|too many clients/i.test(
        String(error),
      );
      throw new SinkError(
        'sink.load_failed',
        `loading ${input.file} into PostgreSQL failed: ${String(error)}`,
        {
          cause: error,
          retryable,
        },
      );
    } finally {
      if (converted) await rm(converted.csv, { force: true });
    }
  }

  private async convert(
    input: LoadInput,
    careful: boolean,
  ): Promise<{ converted: Converted; columns: FileColumn[] }> {
    const instance = await DuckDBInstance.create(':memory:', DUCKDB_LOAD_SETTINGS);
    const db = await instance.connect();
    try {
      const reader = await openFileReader(db, input, { careful });
      const columns = reader.columns;
      const csv = `${input.file}.${process.pid}.pg.csv`;
      const select = columns.map((c) => ident(c.name)).join(', ');
      await db.run(
        `COPY (SELECT ${literal(input.exportId)} AS export_id, ${select} FROM ${reader.rows})
         TO ${literal(csv)} (FORMAT csv, HEADER false)`,
      );
      const rejects = (await db.runAndReadAll(`SELECT * FROM ${reader.rejects}`))
        .getRowObjectsJS()
        .map((r) => ({ line: Number(r.line), reason: String(r.reason), raw: String(r.raw) }));
      return { converted: { csv, rejects }, columns };
    } finally {
      db.closeSync();
      instance.closeSync();
    }
  }

  private async ensureColumns(kind: ExportKind, columns: FileColumn[]): Promise<string[]> {
    const client = await this.pool.connect();
    try {
      await client.query('BEGIN');
      // Two loaders adding the same new column at once would collide: take turns on DDL.
      await client.query(`SELECT pg_advisory_xact_lock(hashtext('fsx:ddl'))`);
      const table = this.table(kind);
      await client.query(
        `CREATE TABLE IF NOT EXISTS ${table} (export_id TEXT NOT NULL, loaded_at TIMESTAMPTZ NOT NULL DEFAULT now())`,
      );
      await client.query(
        `CREATE INDEX IF NOT EXISTS ${TABLES[kind]}_export_id ON ${table} (export_id)`,
      );
      await client.query(`CREATE TABLE IF NOT EXISTS ${this.table('events').replace('events', 'quarantine')} (
        export_id TEXT NOT NULL, table_name TEXT NOT NULL, line BIGINT, reason TEXT, raw TEXT)`);
      const existing = await client.query<{ column_name: string }>(
        'SELECT column_name FROM information_schema.columns WHERE table_schema = $1 AND table_name = $2',
        [this.options.schema ?? 'public', TABLES[kind]],
      );
      const have = new Set(existing.rows.map((r) => r.column_name));
      const added = columns.filter((c) => !have.has(c.name));
      for (const column of added) {
        await client.query(
          `ALTER TABLE ${table} ADD COLUMN IF NOT EXISTS ${ident(column.name)} ${PG_TYPES[column.type]}`,
        );
      }
      await client.query('COMMIT');
      return added.map((c) => c.name);
    } catch (error) {
      await client.query('ROLLBACK').catch(() => undefined);
      throw error;
    } finally {
      client.release();
    }
  }

  private async replaceRows(
    input: LoadInput,
    columns: FileColumn[],
    converted: Converted,
  ): Promise<number> {
    const table = this.table(input.kind);
    const quarantine = this.table('events').replace('events', 'quarantine');
    const names = ['export_id', ...columns.map((c) => c.name)].map(ident).join(', ');
    const client = await this.pool.connect();
    let broken = false;
    try {
      await client.query('BEGIN');
      // One load of an export at a time, or two re-runs could both insert.
      await client.query('SELECT pg_advisory_xact_lock(hashtext($1))', [
        `fsx:export:${input.exportId}`,
      ]);
      await client.query(`DELETE FROM ${table} WHERE export_id = $1`, [input.exportId]);
      // Straight into the table, inside the transaction: nobody sees the rows until COMMIT, and a
      // crash rolls back to the previous load. A staging table would write every row twice.
      const copy = client.query(copyFrom(`COPY ${table} (${names}) FROM STDIN WITH (FORMAT csv)`));
      await pipeline(createReadStream(converted.csv), copy);
      await this.options.beforeCommit?.(client);
      await client.query(`DELETE FROM ${quarantine} WHERE export_id = $1`, [input.exportId]);
      for (const reject of converted.rejects) {
        await client.query(`INSERT INTO ${quarantine} VALUES ($1, $2, $3, $4, $5)`, [
          input.exportId,
          TABLES[input.kind],
          reject.line,
          reject.reason,
          reject.raw,
        ]);
      }
      await client.query('COMMIT');
      return Number(copy.rowCount);
    } catch (error) {
      broken = true;
      await client.query('ROLLBACK').catch(() => undefined);
      throw error;
    } finally {
      client.release(broken);
    }
  }

  /** Count and content hash of one export's rows, comparable with the simulator's (RowDigest). */
  async digest(kind: ExportKind, exportId: string): Promise<{ count: number; hash: string }> {
    const digest = new RowDigest();
    const exists = await this.pool.query('SELECT to_regclass($1) AS t', [this.table(kind)]);
    if (!exists.rows[0]?.t) return digest.toJSON();
    const result = await this.pool.query(`SELECT * FROM ${this.table(kind)} WHERE export_id = $1`, [
      exportId,
    ]);
    for (const row of result.rows as Record<string, RawValue>[]) {
      for (const column of SYSTEM_COLUMNS) delete row[column];
      digest.add(row);
    }
    return digest.toJSON();
  }

  query<T extends pg.QueryResultRow>(sql: string, values?: unknown[]): Promise<pg.QueryResult<T>> {
    return this.pool.query<T>(sql, values);
  }

  /** Upserts one webhook event or note by id. */
  async saveEvent(record: EventRecord): Promise<void> {
    const columns = EVENT_COLUMNS[record.table];
    const table = this.table('events').replace('events', record.table);
    await this.pool.query(
      `CREATE TABLE IF NOT EXISTS ${table} (id TEXT PRIMARY KEY, ${columns.map((c) => `${c} TEXT`).join(', ')}, payload JSON)`,
    );
    const values = [record.id, ...columns.map((c) => record.fields[c] ?? null), record.payload];
    await this.pool.query(
      `INSERT INTO ${table} (id, ${columns.join(', ')}, payload) VALUES (${values.map((_, i) => `$${i + 1}`).join(', ')})
       ON CONFLICT (id) DO UPDATE SET ${[...columns, 'payload'].map((c) => `${c} = EXCLUDED.${c}`).join(', ')}`,
      values,
    );
  }

  async close(): Promise<void> {
    await this.pool.end();
  }
}
