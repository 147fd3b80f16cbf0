import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { type DuckDBConnection, DuckDBInstance } from '@duckdb/node-api';
import { type ExportKind, type RawValue, RowDigest } from '@fsx/export-schema';
import { EVENT_COLUMNS, type EventRecord, type EventStore } from './event-tables.js';
import {
  type FileColumn,
  type FileReader,
  fieldColumns,
  loadWithRetries,
  type SpeculationMode,
  SYSTEM_COLUMNS,
  withFileReader,
} from './file-reader.js';
import {
  assertStillWanted,
  type LoadInput,
  type LoadResult,
  type Sink,
  SinkError,
  type SinkOptions,
} from './sink.js';
import {
  DUCKDB_TYPES,
  type DuckDbLoadOptions,
  duckdbLoadSettings,
  ident,
  onOneThread,
} from './sql.js';

export interface DuckDbSinkOptions extends SinkOptions {
  /** The database file; `:memory:` for tests. */
  path: string;
  /** How long to wait for another process's write lock on the file. @defaultValue 30000 */
  lockWaitMs?: number;
  /** Test hook: runs after the new rows are inserted, before the transaction commits. */
  beforeCommit?: () => Promise<void>;
}

const TABLES: Record<ExportKind, string> = { events: 'events', individuals: 'individuals' };
/** The tail of each DuckDB file's queue of users in this process. */
const fileTurns = new Map<string, Promise<void>>();
const QUARANTINE_DDL = `CREATE TABLE IF NOT EXISTS quarantine (
  export_id VARCHAR NOT NULL, table_name VARCHAR NOT NULL, line BIGINT, reason VARCHAR, raw VARCHAR)`;

/**
 * The embedded default sink. DuckDB reads the staged export itself (streaming, in C++), so a load
 * costs what DuckDB's own loader costs. DuckDB allows one writing process per file: each load
 * opens the file, waits out another process's lock, and closes it when done.
 */
export class DuckDbSink implements Sink, EventStore {
  readonly kind = 'duckdb';
  private instance: DuckDBInstance | undefined;

  constructor(private readonly options: DuckDbSinkOptions) {}

  private async open(
    settings: DuckDbLoadOptions,
  ): Promise<{ connection: DuckDBConnection; instance: DuckDBInstance }> {
    const config = duckdbLoadSettings(settings);
    if (this.options.path === ':memory:') {
      this.instance ??= await DuckDBInstance.create(':memory:', config);
      const connection = await this.instance.connect();
      // The one instance outlives a load: each sets its own thread count.
      await connection.run(`SET threads = ${config.threads}`);
      return { connection, instance: this.instance };
    }
    await mkdir(path.dirname(this.options.path), { recursive: true });
    const deadline = Date.now() + (this.options.lockWaitMs ?? 30_000);
    for (let wait = 50; ; wait = Math.min(wait * 2, 1_000)) {
      try {
        const instance = await DuckDBInstance.create(this.options.path, config);
        this.instance = instance;
        return { connection: await instance.connect(), instance };
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
  async withConnection<T>(
    work: (connection: DuckDBConnection, instance: DuckDBInstance) => Promise<T>,
    settings: DuckDbLoadOptions = this.options,
  ): Promise<T> {
    // DuckDB's file lock keeps other processes out, but not a second instance in this process:
    // two of them on one file lose each other's writes. So this process takes turns per file.
    const previous = fileTurns.get(this.options.path) ?? Promise.resolve();
    let done: () => void = () => {};
    const turn = new Promise<void>((resolve) => {
      done = resolve;
    });
    const queued = previous.then(() => turn);
    fileTurns.set(this.options.path, queued);
    await previous;
    try {
      const { connection, instance } = await this.open(settings);
      try {
        return await work(connection, instance);
      } finally {
        this.release(connection);
      }
    } finally {
      done();
      if (fileTurns.get(this.options.path) === queued) fileTurns.delete(this.options.path);
    }
  }

  load(input: LoadInput): Promise<LoadResult> {
    // Columns added by any attempt: one that failed or rolled back keeps its DDL, and the
    // attempt that lands must still report them.
    const added = new Set<string>();
    return loadWithRetries(
      input,
      `loading ${input.file} into DuckDB`,
      this.options,
      (source, careful, mode, settings) => this.loadOnce(source, careful, mode, added, settings),
      { arrays: 'beside' },
    );
  }

  /** The load, or undefined when a speculative JSON-array load missed a column and rolled back. */
  private loadOnce(
    input: LoadInput,
    careful: boolean,
    mode: SpeculationMode | undefined,
    added: Set<string>,
    settings: DuckDbLoadOptions,
  ): Promise<LoadResult | undefined> {
    // A speculative JSON-array load runs both queries on one thread each: DuckDB parses an array
    // on one thread anyway, and a second per query only contended for the cores (5M rows: 28 or
    // 38 s at random, 157 % or 197 % CPU; on one thread each, 28 s every time).
    return this.withConnection(
      (db, instance) =>
        mode === 'beside'
          ? onOneThread(db, () => this.loadIn(db, instance, input, careful, mode, added))
          : this.loadIn(db, instance, input, careful, mode, added),
      settings,
    );
  }

  private async loadIn(
    db: DuckDBConnection,
    instance: DuckDBInstance,
    input: LoadInput,
    careful: boolean,
    mode: SpeculationMode | undefined,
    added: Set<string>,
  ): Promise<LoadResult | undefined> {
    const table = TABLES[input.kind];
    const have = await this.tableColumns(db, table);
    const extras = this.options.newFields === 'extras';
    const options = {
      careful,
      ...(mode ? { speculate: { instance, known: fieldColumns(have, extras), mode } } : {}),
      ...(extras ? { extras: { columns: have } } : {}),
    };
    return withFileReader(db, input, options, async (reader) => {
      for (const name of await this.ensureColumns(db, table, have, reader.columns)) added.add(name);
      await db.run(QUARANTINE_DDL);
      const loaded = await this.replaceRows(db, input, table, reader);
      return loaded && { ...loaded, newColumns: [...added], extraFields: reader.extraFields };
    });
  }

  /** One transaction: the export's old rows and rejects out, the new ones in. */
  private async replaceRows(
    db: DuckDBConnection,
    input: LoadInput,
    table: string,
    reader: FileReader,
  ): Promise<{ rows: number; rejected: number } | undefined> {
    try {
      await db.run('BEGIN TRANSACTION');
      await db.run(`DELETE FROM ${table} WHERE export_id = $1`, [input.exportId]);
      await db.run('DELETE FROM quarantine WHERE export_id = $1', [input.exportId]);
      const inserted = await db.run(
        `INSERT INTO ${table} BY NAME SELECT $1::VARCHAR AS export_id, * FROM ${reader.rows}`,
        [input.exportId],
      );
      const rejected = await this.quarantine(db, input, table, reader.rejects);
      if ((await reader.unread).length > 0) {
        await db.run('ROLLBACK');
        return undefined;
      }
      await this.options.beforeCommit?.();
      await assertStillWanted(input);
      await db.run('COMMIT');
      return { rows: Number(inserted.rowsChanged), rejected };
    } catch (error) {
      await db.run('ROLLBACK').catch(() => undefined);
      throw error;
    }
  }

  /** Rows DuckDB could not read (bad quoting, a value of the wrong type) go to `quarantine`. */
  private async quarantine(
    db: DuckDBConnection,
    input: LoadInput,
    table: string,
    rejects: string,
  ): Promise<number> {
    const moved = await db.run(
      `INSERT INTO quarantine SELECT $1, $2, line, reason, raw FROM ${rejects}`,
      [input.exportId, table],
    );
    return Number(moved.rowsChanged);
  }

  private async tableColumns(db: DuckDBConnection, table: string): Promise<Set<string>> {
    const existing = await db.runAndReadAll(
      'SELECT column_name FROM information_schema.columns WHERE table_name = $1',
      [table],
    );
    return new Set(existing.getRowObjectsJS().map((r) => String(r.column_name)));
  }

  /** Creates the table with the file's columns, or adds the ones FullStory started sending. */
  private async ensureColumns(
    db: DuckDBConnection,
    table: string,
    have: Set<string>,
    columns: FileColumn[],
  ): Promise<string[]> {
    const missing = columns.filter((c) => !have.has(c.name));
    const definitions = missing.map((c) => `${ident(c.name)} ${DUCKDB_TYPES[c.type]}`);
    if (have.size === 0) {
      await db.run(
        `CREATE TABLE IF NOT EXISTS ${table} (export_id VARCHAR NOT NULL, loaded_at TIMESTAMPTZ DEFAULT current_timestamp${definitions.map((d) => `, ${d}`).join('')})`,
      );
      return missing.map((c) => c.name);
    }
    for (const definition of definitions)
      await db.run(`ALTER TABLE ${table} ADD COLUMN IF NOT EXISTS ${definition}`);
    return missing.map((c) => c.name);
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

  /** Upserts one webhook event or note by id. */
  async saveEvent(record: EventRecord): Promise<void> {
    const columns = EVENT_COLUMNS[record.table];
    await this.withConnection(async (db) => {
      await db.run(
        `CREATE TABLE IF NOT EXISTS ${record.table} (id VARCHAR PRIMARY KEY, ${columns.map((c) => `${c} VARCHAR`).join(', ')}, payload JSON)`,
      );
      const values = [record.id, ...columns.map((c) => record.fields[c] ?? null), record.payload];
      await db.run(
        `INSERT OR REPLACE INTO ${record.table} (id, ${columns.join(', ')}, payload) VALUES (${values.map((_, i) => `$${i + 1}`).join(', ')})`,
        values,
      );
    });
  }

  async close(): Promise<void> {
    this.instance?.closeSync();
    this.instance = undefined;
  }
}
