import { execFile } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { closeSync, constants, openSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { Socket } from 'node:net';
import { pipeline } from 'node:stream/promises';
import { promisify } from 'node:util';
import type { DuckDBConnection } from '@duckdb/node-api';
import { type ExportKind, type FieldType, type RawValue, RowDigest } from '@fsx/export-schema';
import pg from 'pg';
import { type CopyStreamQuery, from as copyFrom } from 'pg-copy-streams';

const execFileAsync = promisify(execFile);

import { EVENT_COLUMNS, type EventRecord, type EventStore } from './event-tables.js';
import { readExportText } from './export-text.js';
import {
  type FileColumn,
  type FileReader,
  fieldColumns,
  loadWithRetries,
  type SpeculationMode,
  SYSTEM_COLUMNS,
  withFileReader,
} from './file-reader.js';
import { withScratchDuckDb } from './scratch-duckdb.js';
import {
  assertStillWanted,
  type LoadInput,
  type LoadResult,
  type Sink,
  SinkError,
  type SinkOptions,
} from './sink.js';
import { type DuckDbLoadOptions, ident, literal } from './sql.js';

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
/**
 * `export_id` comes from a transaction-local setting, so COPY streams the file's own columns and
 * nothing has to add one to every row (an unset setting fails the insert rather than load NULLs).
 */
const EXPORT_ID_SETTING = 'fsx.export_id';
const EXPORT_ID_DEFAULT = `current_setting('${EXPORT_ID_SETTING}')`;

export interface PostgresSinkOptions extends SinkOptions {
  connectionString: string;
  /** @defaultValue 'public' */
  schema?: string;
  /**
   * How long a transaction waits for a lock another session holds before the load gives up as
   * `sink.busy`. @defaultValue 2000
   */
  lockTimeoutMs?: number;
  /** Test hook: runs after the new rows are copied in, before the transaction commits. */
  beforeCommit?: (client: pg.PoolClient) => Promise<void>;
}

/**
 * The FIFO's read end, open before DuckDB starts, read as a socket (epoll, on the main thread). A
 * file stream would open and read it on libuv's thread pool, where DuckDB's query writing the other
 * end also runs: with every pool thread in such a query, nothing would read the FIFOs and the loads
 * would wait forever (with `UV_THREADPOOL_SIZE=1`, the first load did). Opened without blocking,
 * it sees no end until a writer has come and gone.
 */
function openFifoReader(fifo: string): Socket {
  const fd = openSync(fifo, constants.O_RDONLY | constants.O_NONBLOCK);
  return new Socket({ fd, readable: true, writable: false });
}

/** If DuckDB fails before it opens the FIFO, a writer that comes and goes ends the reader. */
function endFifoReader(fifo: string): void {
  closeSync(openSync(fifo, constants.O_WRONLY | constants.O_NONBLOCK));
}

/** PostgreSQL's lock_not_available: a lock wait ran past `lock_timeout`. */
const LOCK_NOT_AVAILABLE = '55P03';

/** Whether PostgreSQL was out of reach or went away: another run of the job may find it back. */
const isConnectionLost = (error: unknown) =>
  /ECONNREFUSED|ECONNRESET|terminat|timeout|too many clients/i.test(String(error));

/** What COPY reads: a CSV stream of rows, with or without a header line, and of rejects. */
interface RowSource {
  header: boolean;
  /**
   * Starts COPY (`copyRows`) when its rows are ready to flow and streams them in, in the same tick:
   * a COPY PostgreSQL refuses at once (a column dropped meanwhile) errors on a stream that is
   * already piped, instead of an unheard 'error' event that ends the process.
   */
  fill(copyRows: () => CopyStreamQuery): Promise<void>;
  /**
   * Streams the rows it could not read into the COPY `copyRejects` starts, as CSV of `leading`
   * (values every line begins with), line, reason and raw; never all at once, for a file whose
   * every row is refused is as big as the export. Returns their count.
   */
  quarantine(leading: string[], copyRejects: () => CopyStreamQuery): Promise<number>;
}

/**
 * The fast path for a CSV export: the staged file as it is (inflated, if staged gzipped) into
 * COPY, which types it.
 * One pass, and PostgreSQL does the only parse. A row COPY refuses fails the load, and the careful
 * path (through DuckDB) then quarantines it.
 */
function csvAsIs(input: LoadInput): RowSource {
  return {
    header: true,
    async fill(copyRows) {
      await pipeline(readExportText(input.file), copyRows());
    },
    quarantine: async () => 0,
  };
}

/**
 * DuckDB reads and types the staged file and writes CSV into a FIFO while COPY reads the other
 * end: decompressing, parsing and PostgreSQL's insert run at the same time, and no converted copy
 * of the export ever touches the disk.
 */
function throughDuckDb(db: DuckDBConnection, input: LoadInput, reader: FileReader): RowSource {
  return {
    header: false,
    async fill(copyRows) {
      // PostgreSQL's single COPY backend sets the pace: one DuckDB thread keeps up with it (5% off
      // the load's speed in bench/ingest) and holds one set of read buffers instead of two, so
      // the load's peak RSS stays under 256 MB. Set here, not when DuckDB opens: set before the
      // sampled read's first query, it added 60-80 MB to the peak (1M NDJSON rows, from text or
      // gzip).
      await db.run('SET threads = 1');
      const select = reader.columns.map((c) => ident(c.name)).join(', ');
      await copyThroughFifo(db, input, `SELECT ${select} FROM ${reader.rows}`, copyRows);
    },
    async quarantine(leading, copyRejects) {
      // Counted by COPY as they stream, not before: counting first read a set-aside file twice.
      const values = leading.map((v) => `${literal(v)}, `).join('');
      const rejects = `SELECT ${values}line, reason, raw FROM ${reader.rejects}`;
      let copy: CopyStreamQuery | undefined;
      await copyThroughFifo(db, input, rejects, () => {
        copy = copyRejects();
        return copy;
      });
      return Number(copy?.rowCount ?? 0);
    },
  };
}

/**
 * DuckDB writes `query`'s rows as CSV into a FIFO while the COPY `startCopy` begins reads the
 * other end: no copy of them touches the disk or sits in memory.
 */
async function copyThroughFifo(
  db: DuckDBConnection,
  input: LoadInput,
  query: string,
  startCopy: () => CopyStreamQuery,
): Promise<void> {
  const fifo = `${input.file}.${process.pid}.${randomUUID()}.pg.fifo`;
  try {
    await execFileAsync('mkfifo', ['-m', '600', fifo]);
    const rows = openFifoReader(fifo);
    const [written, copied] = await Promise.allSettled([
      db
        .run(`COPY (${query}) TO ${literal(fifo)} (FORMAT csv, HEADER false)`)
        .catch(async (error) => {
          try {
            endFifoReader(fifo);
          } catch {
            // The reader is gone already (COPY failed first): nothing waits for an end.
          }
          throw error;
        }),
      pipeline(rows, startCopy()),
    ]);
    // DuckDB's error says why; a COPY that ended early because of it says less. But where
    // COPY refused a row first, DuckDB's is only the broken pipe that followed.
    if (written.status === 'rejected') {
      const brokenPipe = /broken pipe/i.test(String(written.reason));
      throw brokenPipe && copied.status === 'rejected' ? copied.reason : written.reason;
    }
    if (copied.status === 'rejected') throw copied.reason;
  } finally {
    await rm(fifo, { force: true });
  }
}

/**
 * PostgreSQL through its bulk loader. DuckDB turns the staged export into typed CSV (streaming, in
 * C++) while one transaction deletes the export's old rows and streams the new ones in with
 * `COPY … FROM STDIN`: a re-run or a crash never leaves half an export or a duplicate.
 */
export class PostgresSink implements Sink, EventStore {
  readonly kind = 'postgres';
  private readonly pool: pg.Pool;

  constructor(private readonly options: PostgresSinkOptions) {
    // A server out of reach fails the connect in 10 s (a retryable connection loss), not the OS's
    // minutes; keepalive notices a peer that went away mid-COPY.
    this.pool = new pg.Pool({
      connectionString: options.connectionString,
      max: 4,
      connectionTimeoutMillis: 10_000,
      keepAlive: true,
      keepAliveInitialDelayMillis: 30_000, // Linux's own default waits two hours before probing
    });
    // A dropped connection rejects the query in flight; the client's 'error' event adds nothing.
    this.pool.on('error', () => {});
    this.pool.on('connect', (client) => client.on('error', () => {}));
  }

  private table(kind: ExportKind): string {
    return `${ident(this.options.schema ?? 'public')}.${TABLES[kind]}`;
  }

  load(input: LoadInput): Promise<LoadResult> {
    // Columns added by any attempt: a failed fast path keeps its DDL, and the careful attempt
    // must still report them.
    const added = new Set<string>();
    // NDJSON and JSON arrays load sampled, in one pass (see readSampled). An array's key pass
    // beside the load, as the DuckDB sink runs it, took peak RSS from 205 to 260 MB here.
    return loadWithRetries(
      input,
      `loading ${input.file} into PostgreSQL`,
      this.options,
      (source, careful, mode, settings) => this.loadOnce(source, careful, mode, added, settings),
      { arrays: 'sampled', retryable: isConnectionLost },
    );
  }

  private loadOnce(
    input: LoadInput,
    careful: boolean,
    mode: SpeculationMode | undefined,
    added: Set<string>,
    settings: DuckDbLoadOptions,
  ): Promise<LoadResult> {
    return withScratchDuckDb(settings, async (db, instance) => {
      const extras = this.options.newFields === 'extras';
      const table = await this.tableColumns(input.kind);
      const have = new Set(table.keys());
      const options = {
        careful,
        asText: true,
        // The table's own columns are read too, as in the DuckDB sink: a field it knows that
        // this file first sends after its sample then does not throw the one-pass read away.
        ...(mode ? { speculate: { instance, known: fieldColumns(have, extras), mode } } : {}),
        ...(extras ? { extras: { columns: have } } : {}),
      };
      return withFileReader(db, input, options, async (reader) => {
        for (const name of await this.ensureColumns(input.kind, reader.columns, table))
          added.add(name);
        // A CSV file goes in as it is unless some of its columns are gathered into `extras`.
        const asIs = input.format === 'csv' && !careful && reader.extraFields.length === 0;
        const source = asIs ? csvAsIs(input) : throughDuckDb(db, input, reader);
        const { rows, rejected } = await this.replaceRows(input, reader.columns, source);
        return { rows, rejected, newColumns: [...added], extraFields: reader.extraFields };
      });
    });
  }

  /** The table's columns and their defaults, read on `client` (in its transaction) or the pool. */
  private async tableColumns(
    kind: ExportKind,
    client: pg.Pool | pg.PoolClient = this.pool,
  ): Promise<Map<string, string | null>> {
    const existing = await client.query<{ column_name: string; column_default: string | null }>(
      'SELECT column_name, column_default FROM information_schema.columns WHERE table_schema = $1 AND table_name = $2',
      [this.options.schema ?? 'public', TABLES[kind]],
    );
    return new Map(existing.rows.map((r) => [r.column_name, r.column_default]));
  }

  /**
   * Creates `kind`'s table, its index and the quarantine where missing, and adds the `columns` it
   * lacks; returns their names. `seen`: the table's columns as the load read them before.
   */
  private async ensureColumns(
    kind: ExportKind,
    columns: FileColumn[],
    seen: Map<string, string | null>,
  ): Promise<string[]> {
    // DDL locks the table even where it changes nothing (CREATE INDEX IF NOT EXISTS waits for every
    // open write to it, so the loads of two exports took turns): look first, lock only to change.
    if (await this.isReady(kind, columns, seen)) return [];
    const client = await this.pool.connect();
    try {
      await client.query('BEGIN');
      await this.limitLockWaits(client);
      // Two loaders adding the same new column at once would collide: take turns on DDL.
      await client.query(`SELECT pg_advisory_xact_lock(hashtext('fsx:ddl'))`);
      const table = this.table(kind);
      await client.query(
        `CREATE TABLE IF NOT EXISTS ${table} (export_id TEXT NOT NULL DEFAULT ${EXPORT_ID_DEFAULT}, loaded_at TIMESTAMPTZ NOT NULL DEFAULT now())`,
      );
      // An export's rows arrive together, so they sit in neighbouring blocks: a BRIN index finds
      // them for a re-run's DELETE at a fraction of a B-tree's cost to every COPY.
      await client.query(
        `CREATE INDEX IF NOT EXISTS ${TABLES[kind]}_export_id ON ${table} USING brin (export_id)`,
      );
      await client.query(`CREATE TABLE IF NOT EXISTS ${this.table('events').replace('events', 'quarantine')} (
        export_id TEXT NOT NULL, table_name TEXT NOT NULL, line BIGINT, reason TEXT, raw TEXT)`);
      const have = await this.tableColumns(kind, client);
      if (!have.get('export_id')?.includes(EXPORT_ID_SETTING)) {
        // A table from an fsx before the setting: COPY no longer sends export_id.
        await client.query(
          `ALTER TABLE ${table} ALTER COLUMN export_id SET DEFAULT ${EXPORT_ID_DEFAULT}`,
        );
      }
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
      throw this.busyWhenLocked(error, `adding columns to ${this.table(kind)}`);
    } finally {
      client.release();
    }
  }

  /**
   * Whether `kind`'s table (whose columns the load read as `have`), its index and the quarantine
   * exist as this fsx makes them, with every one of `columns`: read from the catalog, which takes
   * no lock on the table. A column added since `have` was read only sends the load to the DDL,
   * which reads them again under its lock.
   */
  private async isReady(
    kind: ExportKind,
    columns: FileColumn[],
    have: Map<string, string | null>,
  ): Promise<boolean> {
    if (!have.get('export_id')?.includes(EXPORT_ID_SETTING)) return false;
    if (columns.some((c) => !have.has(c.name))) return false;
    const relations = [`${TABLES[kind]}_export_id`, 'quarantine'];
    const found = await this.pool.query<{ n: number }>(
      `SELECT count(*)::int AS n FROM pg_class c JOIN pg_namespace s ON s.oid = c.relnamespace
       WHERE s.nspname = $1 AND c.relname = ANY($2)`,
      [this.options.schema ?? 'public', relations],
    );
    return found.rows[0]?.n === relations.length;
  }

  /**
   * Bounds the transaction's waits for locks. Unbounded, an analyst's open transaction on the table
   * held a load forever, and its waiting ALTER TABLE held every later reader of the table too.
   */
  private async limitLockWaits(client: pg.PoolClient): Promise<void> {
    await client.query(`SELECT set_config('lock_timeout', $1, true)`, [`${this.lockTimeoutMs}ms`]);
  }

  private get lockTimeoutMs(): number {
    return this.options.lockTimeoutMs ?? 2_000;
  }

  /** A lock wait that ran out, as `sink.busy`: the export waits as a delayed job and tries again. */
  private busyWhenLocked(error: unknown, doing: string): unknown {
    if ((error as { code?: unknown } | null)?.code !== LOCK_NOT_AVAILABLE) return error;
    return new SinkError(
      'sink.busy',
      `${doing}: another PostgreSQL session held a lock it needs for over ${this.lockTimeoutMs} ms`,
      { cause: error },
    );
  }

  /**
   * One transaction: the export's old rows out, `source` streams the new ones into COPY, rejects into
   * the quarantine, then COMMIT. Nobody sees the new rows before; a crash rolls back to the last
   * load. (No staging table: it would write every row twice for the same guarantee.)
   */
  private async replaceRows(
    input: LoadInput,
    columns: FileColumn[],
    source: RowSource,
  ): Promise<{ rows: number; rejected: number }> {
    const table = this.table(input.kind);
    const quarantine = this.table('events').replace('events', 'quarantine');
    const names = columns.map((c) => ident(c.name)).join(', ');
    const client = await this.pool.connect();
    let broken = false;
    try {
      await client.query('BEGIN');
      await this.limitLockWaits(client);
      // One load of an export at a time, or two re-runs could both insert.
      await client.query('SELECT pg_advisory_xact_lock(hashtext($1))', [
        `fsx:export:${input.exportId}`,
      ]);
      await client.query(`DELETE FROM ${table} WHERE export_id = $1`, [input.exportId]);
      await client.query('SELECT set_config($1, $2, true)', [EXPORT_ID_SETTING, input.exportId]);
      let copy: CopyStreamQuery | undefined;
      await source.fill(() => {
        copy = client.query(
          copyFrom(
            `COPY ${table} (${names}) FROM STDIN WITH (FORMAT csv, HEADER ${source.header})`,
          ),
        );
        return copy;
      });
      await this.options.beforeCommit?.(client);
      await client.query(`DELETE FROM ${quarantine} WHERE export_id = $1`, [input.exportId]);
      const rejected = await source.quarantine([input.exportId, TABLES[input.kind]], () =>
        client.query(
          copyFrom(
            `COPY ${quarantine} (export_id, table_name, line, reason, raw) FROM STDIN WITH (FORMAT csv)`,
          ),
        ),
      );
      await assertStillWanted(input);
      await client.query('COMMIT');
      return { rows: Number(copy?.rowCount ?? 0), rejected };
    } catch (error) {
      broken = true;
      await client.query('ROLLBACK').catch(() => undefined);
      throw this.busyWhenLocked(error, `loading export ${input.exportId} into ${table}`);
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
