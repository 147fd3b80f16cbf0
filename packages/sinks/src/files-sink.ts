import { randomUUID } from 'node:crypto';
import { mkdir, mkdtemp, readdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { DuckDBConnection } from '@duckdb/node-api';
import { sizeBytes } from '@fsx/config';
import { type ExportKind, fieldType, type RawValue, RowDigest } from '@fsx/export-schema';
import {
  type FileReader,
  loadWithRetries,
  type SpeculationMode,
  withFileReader,
} from './file-reader.js';
import { withScratchDuckDb } from './scratch-duckdb.js';
import {
  assertStillWanted,
  isOutOfMemory,
  type LoadInput,
  type LoadResult,
  type Sink,
  type SinkOptions,
  whyRefused,
} from './sink.js';
import {
  DUCKDB_TYPES,
  type DuckDbLoadOptions,
  duckdbLoadSettings,
  ident,
  literal,
  onOneThread,
} from './sql.js';

export type FilesFormat = 'parquet' | 'ndjson';

export interface FilesSinkOptions extends SinkOptions {
  dir: string;
  /** @defaultValue 'parquet' */
  format?: FilesFormat;
}

const TIME_FIELD: Record<ExportKind, string> = {
  events: 'EventStart',
  individuals: 'LastEventStart',
};
const EXTENSION: Record<FilesFormat, string> = { parquet: 'parquet', ndjson: 'json' };
/**
 * A partitioned write holds each thread's rows until this many (DuckDB's default: 524,288) before
 * handing them to the file writer: 200k rows outgrew the 256MB limit, and 1M failed both
 * attempts. 8,192 wrote 1M in 5.8 s at 415 MB peak RSS (32,768: 6.0 s, 494 MB); the writer still
 * gathers them into row groups of 30k–70k rows.
 */
const PARTITION_FLUSH_ROWS = 8_192;
/**
 * The same for rows tens of KB wide, after 8,192 of them ran out of memory: 8,192 rows of 32 KB
 * are 256 MB. At 256 rows, NDJSON rows of 32 and 64 KB, JSON arrays of 16 and 64 KB and CSV of
 * 64 KB all wrote Parquet under 256MB; only after a failure, because 256 halves the speed of an
 * export spread over 30 days.
 */
const WIDE_ROW_FLUSH_ROWS = 256;

/**
 * Parquet row groups no bigger than a fifth of a load thread's memory: DuckDB builds each one in
 * memory, and by row count alone (122,880 of FullStory's wide rows) a 1M-row JSON array failed
 * both attempts at 96MB. At the default 256MB (two threads) that is 25.6 MB: 1M rows took 3.1 s
 * (CSV), 5.6 s (NDJSON) and 10.6 s (JSON array) at 257–345 MB peak RSS, 5M NDJSON rows 25.4 s
 * at 333 MB; at 96MB (19.2 MB) 1M rows took 6.0–12.4 s at 233–238 MB.
 */
function parquetRowGroupBytes(options: DuckDbLoadOptions): number {
  const settings = duckdbLoadSettings(options);
  return Math.floor(sizeBytes(settings.memory_limit ?? '') / Number(settings.threads) / 5);
}

async function filesUnder(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { recursive: true, withFileTypes: true }).catch(() => []);
  return entries.filter((e) => e.isFile()).map((e) => path.join(e.parentPath, e.name));
}

/**
 * Partitioned files for a lake: `<dir>/<table>/day=YYYY-MM-DD/<exportId>_<n>.<ext>`, Parquet or
 * NDJSON, written by DuckDB into a temporary folder and renamed into place (atomic per file). A
 * re-run writes the same names and removes the export's files it no longer produces.
 */
export class FilesSink implements Sink {
  readonly kind = 'files';

  constructor(private readonly options: FilesSinkOptions) {}

  private get format(): FilesFormat {
    return this.options.format ?? 'parquet';
  }

  load(input: LoadInput): Promise<LoadResult> {
    return loadWithRetries(
      input,
      `writing ${input.exportId} as ${this.format}`,
      this.options,
      (source, careful, mode, settings) => this.loadOnce(source, careful, mode, settings),
      { arrays: 'beside' },
    );
  }

  /** The load, or undefined when a speculative JSON-array write missed a column and was dropped. */
  private async loadOnce(
    input: LoadInput,
    careful: boolean,
    mode: SpeculationMode | undefined,
    settings: DuckDbLoadOptions,
  ): Promise<LoadResult | undefined> {
    const tableDir = path.join(this.options.dir, input.kind);
    await mkdir(tableDir, { recursive: true });
    const temp = await mkdtemp(path.join(this.options.dir, '.incoming-'));
    try {
      return await withScratchDuckDb(settings, (db, instance) => {
        const options = {
          careful,
          ...(mode ? { speculate: { instance, known: [], mode } } : {}),
          ...(this.options.newFields === 'extras'
            ? { extras: { columns: new Set<string>() } }
            : {}),
        };
        const write = () =>
          withFileReader(db, input, options, (reader) =>
            this.writeFiles(db, input, reader, temp, tableDir, settings),
          );
        // One thread for each of a JSON array's two queries, as in the DuckDB sink.
        return mode === 'beside' ? onOneThread(db, write) : write();
      });
    } finally {
      await rm(temp, { recursive: true, force: true });
    }
  }

  /** Writes the export's files into `temp`, then publishes them into `tableDir`. */
  private async writeFiles(
    db: DuckDBConnection,
    input: LoadInput,
    reader: FileReader,
    temp: string,
    tableDir: string,
    settings: DuckDbLoadOptions,
  ): Promise<LoadResult | undefined> {
    const timeField = reader.columns.some((c) => c.name === TIME_FIELD[input.kind])
      ? ident(TIME_FIELD[input.kind])
      : 'NULL';
    const day = `coalesce(strftime(${timeField}, '%Y-%m-%d'), 'unknown')`;
    const withExportId = `(SELECT ${literal(input.exportId)} AS export_id, * FROM ${reader.rows})`;
    const copied = await this.writePartitions(
      db,
      withExportId,
      day,
      temp,
      input.exportId,
      settings,
    );
    const quarantine = await this.writeQuarantine(db, input.exportId, reader.rejects);
    try {
      // The speculation missed a field: nothing is published, and the plain write runs.
      if ((await reader.unread).length > 0) return undefined;
      await assertStillWanted(input);
      await this.publish(temp, tableDir, input.exportId);
      await this.publishQuarantine(input.exportId, quarantine);
    } finally {
      await rm(quarantine.file, { force: true });
    }
    return {
      rows: copied.rowsChanged,
      rejected: quarantine.rows,
      newColumns: await this.addColumns(
        input.kind,
        reader.columns.map((c) => c.name),
      ),
      extraFields: reader.extraFields,
      ...(copied.wideRowsBecause ? { wideRowsBecause: copied.wideRowsBecause } : {}),
    };
  }

  /**
   * Writes the export's rows (`withExportId`, a query) into `temp`, one folder per `day` (a SQL
   * expression over them), and returns how many; on running out of memory, again with smaller
   * batches (see WIDE_ROW_FLUSH_ROWS), saying why in `wideRowsBecause`.
   */
  private async writePartitions(
    db: DuckDBConnection,
    withExportId: string,
    day: string,
    temp: string,
    exportId: string,
    settings: DuckDbLoadOptions,
  ): Promise<{ rowsChanged: number; wideRowsBecause?: string }> {
    const name = `FILENAME_PATTERN ${literal(`${exportId}_{i}`)}`;
    // One partitioned COPY either way, one pass over the export for all its days. DuckDB's JSON
    // writer has no PARTITION_BY, so NDJSON goes out through its CSV writer, each row its JSON
    // text (the same bytes): one COPY per day read the whole export once per day, and an export
    // over 30 days took 67.6 s against 8.2 s over one.
    const copy =
      this.format === 'parquet'
        ? `COPY (SELECT *, ${day} AS day FROM ${withExportId}) TO ${literal(temp)}
           (FORMAT parquet, PARTITION_BY (day), ROW_GROUP_SIZE_BYTES ${parquetRowGroupBytes(settings)}, ${name})`
        : `COPY (SELECT to_json(r) AS line, ${day} AS day FROM ${withExportId} r) TO ${literal(temp)}
           (FORMAT csv, PARTITION_BY (day), HEADER false, QUOTE '', ESCAPE '', DELIMITER E'\\x01', ${name}, FILE_EXTENSION '${EXTENSION.ndjson}')`;
    const write = async (flushRows: number) => {
      await db.run(`SET partitioned_write_flush_threshold = ${flushRows}`);
      return Number((await db.run(copy)).rowsChanged);
    };
    // What a failed write left in `temp` would refuse the next one.
    const emptyTemp = async () => {
      await rm(temp, { recursive: true, force: true });
      await mkdir(temp);
    };
    const copied: { rowsChanged: number; wideRowsBecause?: string } = { rowsChanged: 0 };
    try {
      copied.rowsChanged = await write(PARTITION_FLUSH_ROWS);
    } catch (error) {
      if (!isOutOfMemory(error)) throw error;
      await emptyTemp();
      copied.wideRowsBecause = whyRefused(error);
      copied.rowsChanged = await write(WIDE_ROW_FLUSH_ROWS).catch(async (again: unknown) => {
        if (this.format !== 'ndjson' || !isOutOfMemory(again)) throw again;
        // DuckDB's JSON writer fits rows of 64 KB that to_json's vectors of them do not.
        await emptyTemp();
        return this.writeNdjsonDayByDay(
          db,
          `(SELECT *, ${day} AS day FROM ${withExportId})`,
          temp,
          exportId,
        );
      });
    }
    return copied;
  }

  /**
   * NDJSON the slow way, for rows too wide for the one pass: one COPY per day through DuckDB's
   * JSON writer (which has no PARTITION_BY), each reading the whole export again.
   */
  private async writeNdjsonDayByDay(
    db: DuckDBConnection,
    rows: string,
    temp: string,
    exportId: string,
  ): Promise<number> {
    const days = (
      await db.runAndReadAll(`SELECT DISTINCT day FROM ${rows} ORDER BY day`)
    ).getRowObjectsJS();
    let written = 0;
    for (const { day } of days) {
      const folder = path.join(temp, `day=${String(day)}`);
      await mkdir(folder, { recursive: true });
      const result = await db.run(
        `COPY (SELECT * EXCLUDE (day) FROM ${rows} WHERE day = ${literal(String(day))})
         TO ${literal(path.join(folder, `${exportId}_0.${EXTENSION.ndjson}`))} (FORMAT json)`,
      );
      written += Number(result.rowsChanged);
    }
    return written;
  }

  /** Renames each new file into place, then removes this export's files the re-run did not write. */
  private async publish(temp: string, tableDir: string, exportId: string): Promise<string[]> {
    const written: string[] = [];
    for (const file of await filesUnder(temp)) {
      const target = path.join(tableDir, path.relative(temp, file));
      await mkdir(path.dirname(target), { recursive: true });
      await rename(file, target);
      written.push(target);
    }
    const keep = new Set(written);
    for (const file of await filesUnder(tableDir)) {
      if (path.basename(file).startsWith(`${exportId}_`) && !keep.has(file))
        await rm(file, { force: true });
    }
    return written;
  }

  /**
   * Files have no table to alter, so the columns any load of `kind` has written are listed in
   * `<dir>/_schema/<kind>.json`; returns those of `columns` the list did not have, and adds them.
   * (Two loads at once may both report a column; neither loses a row.)
   */
  private async addColumns(kind: ExportKind, columns: string[]): Promise<string[]> {
    const file = path.join(this.options.dir, '_schema', `${kind}.json`);
    const known = new Set<string>(
      await readFile(file, 'utf8')
        .then((text) => JSON.parse(text) as string[])
        .catch(() => []),
    );
    const added = columns.filter((c) => !known.has(c));
    if (added.length === 0) return [];
    await mkdir(path.dirname(file), { recursive: true });
    // Its own temp name: two loads in one process sharing one, the second rename found none.
    const temp = `${file}.${process.pid}.${randomUUID()}.tmp`;
    await writeFile(temp, JSON.stringify([...known, ...added]));
    await rename(temp, file);
    return added;
  }

  private quarantineFile(exportId: string): string {
    return path.join(this.options.dir, 'quarantine', `${exportId}.ndjson`);
  }

  /**
   * Writes the rows `rejects` (a query) holds as NDJSON of line, reason and raw, beside the
   * export's quarantine file, for publishQuarantine. DuckDB writes them as it reads them: a file
   * whose every row is refused is as big as the export, too big to gather in memory.
   */
  private async writeQuarantine(
    db: DuckDBConnection,
    exportId: string,
    rejects: string,
  ): Promise<{ file: string; rows: number }> {
    const file = `${this.quarantineFile(exportId)}.${process.pid}.${randomUUID()}.tmp`;
    await mkdir(path.dirname(file), { recursive: true });
    const written = await db.run(
      `COPY (SELECT line, reason, raw FROM ${rejects}) TO ${literal(file)} (FORMAT json)`,
    );
    return { file, rows: Number(written.rowsChanged) };
  }

  /** The export's quarantine file becomes the one writeQuarantine wrote, or goes if it is empty. */
  private async publishQuarantine(
    exportId: string,
    written: { file: string; rows: number },
  ): Promise<void> {
    const file = this.quarantineFile(exportId);
    if (written.rows === 0) await rm(file, { force: true });
    else await rename(written.file, file);
  }

  /** Count and content hash of one export's rows, read back from the files. */
  async digest(kind: ExportKind, exportId: string): Promise<{ count: number; hash: string }> {
    const digest = new RowDigest();
    const files = (await filesUnder(path.join(this.options.dir, kind))).filter((f) =>
      path.basename(f).startsWith(`${exportId}_`),
    );
    if (files.length === 0) return digest.toJSON();
    return withScratchDuckDb(this.options, async (db) => {
      const list = `[${files.map(literal).join(', ')}]`;
      let source = `read_parquet(${list}, hive_partitioning = false, union_by_name = true)`;
      if (this.format === 'ndjson') {
        // JSON carries no types: read it back with the field catalog's, as a consumer would.
        const sniffed = `read_json(${list}, format = 'newline_delimited', union_by_name = true, sample_size = -1, hive_partitioning = false)`;
        const names = (await db.runAndReadAll(`DESCRIBE SELECT * FROM ${sniffed}`))
          .getRowObjectsJS()
          .map((r) => String(r.column_name));
        const types = names.map(
          (n) =>
            `${literal(n)}: '${n === 'export_id' ? 'VARCHAR' : DUCKDB_TYPES[fieldType(kind, n)]}'`,
        );
        source = `read_json(${list}, format = 'newline_delimited', hive_partitioning = false, columns = {${types.join(', ')}})`;
      }
      const result = await db.stream(`SELECT * EXCLUDE (export_id) FROM ${source}`);
      for await (const rows of result.yieldRowObjectJs())
        for (const row of rows) digest.add(row as Record<string, RawValue>);
      return digest.toJSON();
    });
  }

  async close(): Promise<void> {}
}

export { EXTENSION as FILE_EXTENSIONS };
