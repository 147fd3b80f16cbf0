import { randomUUID } from 'node:crypto';
import { rm } from 'node:fs/promises';
import type { DuckDBConnection, DuckDBInstance } from '@duckdb/node-api';
import {
  EVENT_FIELDS,
  type ExportKind,
  type FieldType,
  fieldType,
  INDIVIDUAL_FIELDS,
  isCatalogField,
} from '@fsx/export-schema';
import { hasText, isGzipped } from './export-text.js';
import { jsonArrayToNdjson } from './json-array-lines.js';
import { withOneThreadRetry } from './one-thread-retry.js';
import { readSampled, SPECULATION_SAMPLE_ROWS, SpeculationMissed } from './sampled-ndjson.js';
import { setAsideMalformedLines } from './set-aside.js';
import {
  isNotAboutTheFile,
  isSinkError,
  type LoadInput,
  type LoadResult,
  SinkError,
  whyRefused,
} from './sink.js';
import {
  castingStrictly,
  castStrictly,
  DUCKDB_TYPES,
  type DuckDbLoadOptions,
  feedsTwoReaders,
  fitsType,
  ident,
  literal,
  onOneThread,
  STRICT_TYPES,
} from './sql.js';

export interface FileColumn {
  name: string;
  type: FieldType;
}

/**
 * How a sink reads a staged export (gzipped or its text), as DuckDB SQL: `rows` yields typed rows
 * (ids exact BIGINTs, timestamps TIMESTAMPTZ, whatever DuckDB would guess); `rejects` yields the
 * rows that cannot be read, with line, reason and raw text, for the quarantine. DuckDB
 * decompresses and parses in C++, streaming: every sink loads through it.
 */
export interface FileReader {
  columns: FileColumn[];
  rows: string;
  rejects: string;
  /**
   * Top-level keys of the file that `rows` does not read. Settled and empty unless the reader was
   * opened to `speculate`: then the whole-file key pass is still running beside the load, and a
   * key it names means rows lost that field, so the caller rolls back and loads without
   * speculating. Callers await it before committing, and before closing the connections.
   */
  unread: Promise<string[]>;
  /** The file's fields gathered into the `extras` column (opened with `extras` only). */
  extraFields: string[];
  /** Removes what the reader wrote to disk; callers call it when the load is over. */
  dispose(): Promise<void>;
  /** Whether the rows are read sampled (see readSampled): a failed load then missed. */
  sampled: boolean;
}

/** How to read a file's rows, before any speculation and `extras`. */
type ReaderRows = Pick<FileReader, 'columns' | 'rows' | 'rejects' | 'dispose'>;

/** The JSON column that holds, with `extras`, the fields the table has no column for. */
export const EXTRAS_COLUMN = 'extras';

/** The columns a sink's table has besides the export's fields. */
export const SYSTEM_COLUMNS: readonly string[] = ['export_id', 'loaded_at'];

/**
 * The export fields among a table's `columns`, which a speculative read reads too (see
 * Speculation): not the system columns, nor, with `extras`, the `extras` column itself.
 */
export function fieldColumns(columns: Iterable<string>, extras: boolean): string[] {
  return [...columns].filter(
    (c) => !SYSTEM_COLUMNS.includes(c) && !(extras && c === EXTRAS_COLUMN),
  );
}

/**
 * DuckDB's CSV read buffer: 4 MiB instead of its 32 MB (16 times the 2 MiB longest line). Under
 * the 256 MB memory limit the smaller buffer loaded bench/ingest's CSV faster and in less memory
 * (1M rows: 3.9 s and 490–529 MB to 3.1 s and 421–434 MB; 5M: 17.1 s to 13.3 s).
 */
const CSV_BUFFER_BYTES = 4 * 2 ** 20;

// Each NDJSON line as one text value: \x01 never appears unescaped in JSON, so nothing splits.
// A query that parses them with DuckDB's JSON functions tests them inside a CASE, not in a filter
// before: behind a filter (of blank lines, of valid ones), json_keys and json_transform ran
// 1,500 lines of 64 KB out of 256MB even on one thread, where without one they took 0.3–0.4 s.
const linesOf = (file: string) =>
  `read_csv(${literal(file)}, columns = {'raw': 'VARCHAR'}, header = false, delim = E'\\x01', quote = '', escape = '', auto_detect = false, buffer_size = ${CSV_BUFFER_BYTES})`;
// Whether `raw` holds more than blanks; NULL for an empty line (read as NULL), which a filter
// drops. A row's line starts with `{`, which spares it trim(), which reads every character: 1M
// lines of 900 bytes took 5.4 s of CPU to trim against 0.4 s to test, and the careful checks
// 20 s → 11 s. Not inside a function call (a coalesce), where DuckDB works out both sides of
// an OR for every line: the copy of the lines that pass took 13 s instead of 5.5–7.
const NOT_BLANK = `(starts_with(raw, '{') OR trim(raw) <> '')`;
// Every line, blank ones too, numbered as the file numbers them. Line numbers cost a window over
// the whole file, so only the careful read asks for them.
const numberedLines = (file: string) =>
  `(SELECT row_number() OVER () AS line, raw FROM ${linesOf(file)})`;

async function ndjsonKeys(db: DuckDBConnection, input: LoadInput): Promise<string[]> {
  const keys = await db.runAndReadAll(
    `SELECT DISTINCT unnest(k) AS k FROM (SELECT CASE WHEN json_valid(raw) THEN json_keys(raw) END AS k FROM ${linesOf(input.file)})`,
  );
  return catalogOrder(
    input.kind as ExportKind,
    keys.getRowObjectsJS().map((r) => String(r.k)),
  );
}

const catalogFields = (kind: ExportKind) => (kind === 'events' ? EVENT_FIELDS : INDIVIDUAL_FIELDS);

/** Known fields in the catalog's order, then fields FullStory added since, by name. */
function catalogOrder(kind: ExportKind, names: string[]): string[] {
  const position = new Map(catalogFields(kind).map((f, i) => [f.name, i]));
  const rank = (name: string) => position.get(name) ?? Number.MAX_SAFE_INTEGER;
  return [...names].sort((a, b) => rank(a) - rank(b) || a.localeCompare(b));
}

/**
 * The file's columns. JSON: every top-level key in the whole file, so a field first seen on the
 * last row still gets its column; only keys are read (types come from the field catalog), which
 * costs a third of DuckDB's full type inference (`sample_size = -1`). CSV: the header.
 */
async function fileColumns(db: DuckDBConnection, input: LoadInput): Promise<string[]> {
  const file = literal(input.file);
  if (input.format === 'csv') {
    // An empty file has no header: DuckDB would name it one column, `column0`.
    if (!(await hasText(input.file))) return [];
    const described = await db.runAndReadAll(
      `DESCRIBE SELECT * FROM read_csv(${file}, header = true, all_varchar = true)`,
    );
    return described.getRowObjectsJS().map((row) => String(row.column_name));
  }
  return catalogOrder(input.kind as ExportKind, await jsonKeys(db, input));
}

/** The top-level keys of a JSON export's rows: all of them, or those of the first `rows`. */
async function jsonKeys(db: DuckDBConnection, input: LoadInput, rows?: number): Promise<string[]> {
  const layout = input.format === 'json' ? 'array' : 'newline_delimited';
  const objects = `read_json_objects(${literal(input.file)}, format = '${layout}')`;
  const keys = await db.runAndReadAll(
    `SELECT DISTINCT unnest(json_keys(json)) AS k FROM ${rows ? `(SELECT json FROM ${objects} LIMIT ${rows})` : objects}`,
  );
  return keys.getRowObjectsJS().map((r) => String(r.k));
}

/**
 * Columns from the first rows plus the ones the sink already has; the key pass over the whole
 * file runs on `beside` at the same time as the load instead of before it.
 */
async function speculativeColumns(
  db: DuckDBConnection,
  input: LoadInput,
  speculate: Speculation,
): Promise<{ names: string[]; unread: Promise<string[]> }> {
  const names = await sampledNames(db, input, speculate.known);
  const read = new Set(names);
  const unread = jsonKeys(speculate.beside, input).then((all) => all.filter((k) => !read.has(k)));
  unread.catch(() => {}); // The caller awaits it; until then a failure is not unhandled.
  return { names, unread };
}

/**
 * The keys of the file's first rows and the ones the sink already has (`known`), in the catalog's
 * order: the columns a speculative load reads. Known ones too, so a field sparse in this file
 * but known is kept.
 */
async function sampledNames(
  db: DuckDBConnection,
  input: LoadInput,
  known: string[],
): Promise<string[]> {
  // On one thread: json_keys parses 2,048 rows at a time per thread, and two threads ran out of
  // 256MB on rows 16 KB wide. On bench's 1 KB rows it takes 0.1 s either way.
  const sampled = await onOneThread(db, () => jsonKeys(db, input, SPECULATION_SAMPLE_ROWS));
  return catalogOrder(input.kind as ExportKind, [...new Set([...sampled, ...known])]);
}

/**
 * The per-line checks of a careful NDJSON read, as SQL: `parsed` yields each line with `t`, its
 * fields as text (a JSON value's own, for a value that is not a string), and `stamps`, its
 * timestamps typed; `bad` is true for a line that is not a row (malformed, not an object, or a
 * value of the wrong type).
 */
function lineChecks(input: LoadInput, columns: FileColumn[]) {
  const structure = (of: FileColumn[]) =>
    literal(JSON.stringify(Object.fromEntries(of.map((c) => [c.name, DUCKDB_TYPES[c.type]]))));
  // Every field as text: a transform to text refuses nothing, so each type is checked below.
  const asText = columns.map((c) => (c.type === 'json' ? c : { ...c, type: 'string' as const }));
  // A line that is valid JSON but not an object (`5`, `"x"`) is not a row either.
  const typed = `CASE WHEN json_valid(raw) THEN CASE WHEN json_type(raw) = 'OBJECT' THEN json_transform(raw, ${structure(asText)}) END END`;
  // Timestamps through the JSON reader's own conversion, which the careful read's rows then take:
  // SQL's cast accepts more (a zone by name, through ICU). Their text alone, not the whole line
  // again: a second transform of every line ran 20k rows of 4 KB out of 512 MB.
  const stamps = columns.filter((c) => c.type === 'timestamp');
  const stampsOf = stamps.length
    ? `json_transform(to_json(struct_pack(${stamps.map((c) => `${ident(c.name)} := t.${ident(c.name)}`).join(', ')})), ${structure(stamps)})`
    : 'NULL';
  const fits = [
    ...columns
      .filter((c) => STRICT_TYPES.has(c.type))
      .map((c) => fitsType(`t.${ident(c.name)}`, c.type)),
    ...stamps.map((c) => `(t.${ident(c.name)} IS NULL OR stamps.${ident(c.name)} IS NOT NULL)`),
  ];
  const fit = fits.length > 0 ? fits.join(' AND ') : 'true';
  return {
    parsed: `(SELECT line, raw, t, ${stampsOf} AS stamps
        FROM (SELECT line, raw, ${typed} AS t FROM ${numberedLines(input.file)}))`,
    // A blank line is no row and no reject. One expression over t, not a filter of its own: see
    // linesOf.
    bad: `CASE WHEN t IS NOT NULL THEN NOT coalesce(${fit}, false) ELSE ${NOT_BLANK} END`,
  };
}

/** Temporary files beside the staged one, one for each of `suffixes`, and what removes them. */
function tempFilesBeside<K extends string>(input: LoadInput, suffixes: Record<K, string>) {
  const base = `${input.file}.${process.pid}.${randomUUID()}`;
  const entries = Object.entries<string>(suffixes).map(([k, suffix]) => [k, `${base}.${suffix}`]);
  const files = Object.fromEntries(entries) as Record<K, string>;
  const dispose = async () => {
    await Promise.all(Object.values<string>(files).map((file) => rm(file, { force: true })));
  };
  return { files, dispose };
}

/** What a quarantine holds of each refused row. */
const REJECT_COLUMNS = `{'line': 'BIGINT', 'reason': 'VARCHAR', 'raw': 'VARCHAR'}`;

/** Runs `fill`, and `dispose` if it fails: on success the reader's caller disposes. */
async function removedOnFailure(dispose: () => Promise<void>, fill: () => Promise<void>) {
  try {
    await fill();
  } catch (error) {
    await dispose();
    throw error;
  }
}

/**
 * NDJSON, line by line: which lines are rejects, and why, is worked out in SQL over the raw
 * lines and written to a file beside the staged one; the lines that pass are written beside it
 * too (zstd) and read back with DuckDB's JSON reader, as on the fast path. Reading the rows straight
 * out of the per-line transform ran out of memory at 256 MB on 20k rows of 4 KB.
 */
async function carefulNdjsonReader(
  db: DuckDBConnection,
  input: LoadInput,
  columns: FileColumn[],
): Promise<ReaderRows> {
  const { parsed, bad } = lineChecks(input, columns);
  const { files, dispose } = tempFilesBeside(input, {
    passed: 'careful.ndjson.zst',
    rejects: 'careful-rejects.csv',
  });
  const { passed } = files;
  const rejects = `(SELECT line, reason, raw FROM read_csv(${literal(files.rejects)}, header = true, quote = '"', escape = '"', columns = ${REJECT_COLUMNS}, auto_detect = false, buffer_size = ${CSV_BUFFER_BYTES}))`;
  await removedOnFailure(dispose, async () => {
    // The rejects now, while nothing else holds memory: a sink inserting the rows first keeps
    // them in memory until COMMIT, and reading the rejects after them ran 20k rows of 4 KB out
    // of 256 MB. Into a file, not a table: 1M refused lines of 900 bytes filled DuckDB's memory
    // with them, and took a PostgreSQL load from 265 to 460 MB peak RSS. CSV, which DuckDB
    // writes and reads faster than JSON: as NDJSON (zstd) the DuckDB sink's load of them took
    // 25 s instead of 20.
    await db.run(
      `COPY (SELECT line, CASE WHEN NOT json_valid(raw) THEN 'malformed JSON' WHEN t IS NULL THEN 'not a JSON object' ELSE 'a value of the wrong type' END AS reason, raw
       FROM ${parsed} WHERE ${bad}) TO ${literal(files.rejects)} (FORMAT csv, HEADER true, QUOTE '"', ESCAPE '"')`,
    );
    // The lines that pass are the others, by number: checking every line again, on one thread,
    // took twice as long (1M rows: 21.5 s against 10.8 s). Raw lines out as they came in: no
    // quoting, and \x01 never appears unescaped in JSON.
    await db.run(
      `COPY (SELECT raw FROM ${numberedLines(input.file)} WHERE ${NOT_BLANK} AND line NOT IN (SELECT line FROM ${rejects})) TO ${literal(passed)} (FORMAT csv, HEADER false, QUOTE '', ESCAPE '', DELIMITER E'\\x01', COMPRESSION zstd)`,
    );
  });
  return {
    columns,
    rows: readStrictly(
      columns,
      (readAs) =>
        `read_json(${literal(passed)}, format = 'newline_delimited', columns = ${typeList(readAs)})`,
    ),
    rejects,
    dispose,
  };
}

/**
 * How a CSV export is read. DuckDB's CSV reader refuses a `7` for a BOOLEAN and `true` for a
 * DOUBLE, but rounds a 1.5 into a BIGINT, and reads an unparsable timestamp as NULL: ids,
 * integers and timestamps are read as text and cast here (`typed`, a REPLACE clause), strictly
 * on the fast path (a bad one fails the load, which then retries carefully), with try_cast for
 * timestamps on the careful path, which sets aside the rows whose values do not fit (`mistyped`).
 */
function csvColumns(columns: FileColumn[], careful: boolean) {
  const asText = new Set(['timestamp', 'int64']);
  const textual = columns.filter((c) => asText.has(c.type));
  const readAs = columns.map((c) => (asText.has(c.type) ? { ...c, type: 'string' as const } : c));
  const cast = (c: FileColumn) =>
    careful && c.type === 'timestamp'
      ? `try_cast(${ident(c.name)} AS TIMESTAMPTZ)`
      : castStrictly(ident(c.name), c.type, c.name);
  const casts = textual.map((c) => `${cast(c)} AS ${ident(c.name)}`).join(', ');
  return {
    read: (file: string, options = '') =>
      `read_csv(${literal(file)}, header = true, quote = '"', escape = '"', types = ${typeList(readAs)}${options ? `, ${options}` : ''}, buffer_size = ${CSV_BUFFER_BYTES})`,
    typed: casts ? `REPLACE (${casts})` : '',
    mistyped: textual.map((c) => `NOT ${fitsType(ident(c.name), c.type)}`).join(' OR ') || 'false',
  };
}

/** The rows DuckDB's CSV reader could not read, kept in `reject_errors` by its last store_rejects. */
const CSV_STRUCTURAL_REJECTS = `SELECT line, error_type || ': ' || error_message AS reason, trim(csv_line, E'\\r\\n') AS raw FROM reject_errors`;

/** CSV, fast: DuckDB keeps rows it cannot read in `reject_errors` (store_rejects) instead of failing. */
function csvReader(input: LoadInput, columns: FileColumn[]): Omit<ReaderRows, 'dispose'> {
  const { read, typed } = csvColumns(columns, false);
  return {
    columns,
    rows: `(SELECT * ${typed} FROM ${read(input.file, 'store_rejects = true')})`,
    rejects: `(${CSV_STRUCTURAL_REJECTS})`,
  };
}

/**
 * CSV, careful: as NDJSON's (see carefulNdjsonReader), the rows that read and fit their columns
 * are written beside the staged file and read back. Read straight out of a filter, 1,500 rows of
 * 64 KB ran DuckDB's Parquet writer out of 256MB even on one thread (any filter did), where its
 * CSV writer fit. The copy costs time on every careful CSV load: 1M rows with one mistyped id,
 * side by side, into DuckDB 8.1–10.2 s → 10.6–12.9 s, Parquet files 6.6–8.3 → 8.3–9.4 s,
 * PostgreSQL unchanged (14.3–18.4 s → 14.4–14.7 s). Uncompressed, as zstd took 1–2 s more; it
 * takes the text's size on disk. The rejects stay a query, read as the quarantine is written:
 * kept in a table first, 1M of them took a PostgreSQL load from 210 to 434 MB peak RSS.
 */
async function carefulCsvReader(
  db: DuckDBConnection,
  input: LoadInput,
  columns: FileColumn[],
): Promise<ReaderRows> {
  const { read, typed, mistyped } = csvColumns(columns, true);
  const { files, dispose } = tempFilesBeside(input, { passed: 'careful.csv' });
  const { passed } = files;
  // reject_errors keeps what this read refused until the next read that stores its rejects.
  await removedOnFailure(dispose, async () => {
    await db.run(
      `COPY (SELECT * FROM ${read(input.file, 'store_rejects = true')} WHERE NOT (${mistyped}))
       TO ${literal(passed)} (FORMAT csv, HEADER true, QUOTE '"', ESCAPE '"')`,
    );
  });
  const all = columns.map((c) => ident(c.name)).join(', ');
  return {
    columns,
    rows: `(SELECT * ${typed} FROM ${read(passed)})`,
    rejects: `(${CSV_STRUCTURAL_REJECTS} UNION ALL SELECT NULL::BIGINT, 'CAST: a value that is not of its column''s type', concat_ws(',', ${all})
      FROM ${read(input.file, 'ignore_errors = true')} WHERE ${mistyped})`,
    dispose,
  };
}

function typeList(columns: FileColumn[]): string {
  return `{${columns.map((c) => `${literal(c.name)}: '${DUCKDB_TYPES[c.type]}'`).join(', ')}}`;
}

/**
 * A JSON fast path, speculating: the whole-file key pass runs on a second connection while the
 * load runs, instead of before it. It pays where the load leaves a core idle, as DuckDB's parse
 * of a JSON array does (one thread): bench/ingest, 1M rows into DuckDB, 8.4 s to 5.4 s; into
 * Parquet files, 0.61x to 0.98x of DuckDB's own writer. The PostgreSQL sink reads its arrays
 * sampled instead (see readSampled): there the second reader took peak RSS from 205 MB to 260 MB
 * for 20 %, where the sampled read took the load from 0.48x to 0.81x of psql's at 251 MB.
 */
export interface Speculation {
  /** A second connection to the same database, for the key pass. */
  beside: DuckDBConnection;
  /** Columns the sink already has: read too, so a field sparse in this file but known is kept. */
  known: string[];
}

/** How to read a staged file. */
export interface ReaderOptions {
  careful?: boolean;
  /**
   * JSON fast path only: yield every value as its JSON text, for a sink whose loader parses
   * text anyway (PostgreSQL's COPY): typing each value in DuckDB and printing it back for COPY
   * to parse again cost a fifth of the load. A value COPY refuses sends the load careful.
   */
  asText?: boolean;
  /**
   * Gather the fields that are neither FullStory's documented ones nor among `columns` (the
   * table's) into one JSON `extras` column, instead of a column each.
   */
  extras?: { columns: ReadonlySet<string> };
}

/**
 * Reads the staged file's columns and returns how to read its rows and its rejects. The fast path
 * is DuckDB's own reader at full speed; a file it refuses (a broken line, a mistyped value) is
 * read again `careful`ly, line by line in SQL, so every bad row lands in the quarantine.
 */
async function openFileReader(
  db: DuckDBConnection,
  input: LoadInput,
  options: ReaderOptions & {
    /** A JSON array's fast path only: see Speculation. */
    speculate?: Speculation;
    /** An NDJSON file's fast path, or a JSON array's without `speculate`: see readSampled. */
    sample?: { known: string[] };
  } = {},
): Promise<FileReader> {
  const careful = options.careful ?? false;
  const kind = input.kind as ExportKind;
  const readsSampled = input.format === 'ndjson' || (input.format === 'json' && !options.speculate);
  if (readsSampled && !careful && options.sample) {
    const names = await sampledNames(db, input, options.sample.known);
    const { columns, extra } = typedColumns(input, names, options);
    if (names.length > 0) {
      const sampled = await readSampled(input, columns, options.asText ? extra : undefined);
      const reader = { columns, rejects: NO_REJECTS, ...sampled, unread: settled(), sampled: true };
      return gatherExtras(reader, [...extra]);
    }
  }
  const { names: found, unread } =
    input.format === 'json' && !careful && options.speculate
      ? await speculativeColumns(db, input, options.speculate)
      : {
          names:
            input.format === 'ndjson' && careful
              ? await ndjsonKeys(db, input)
              : await fileColumns(db, input),
          unread: settled(),
        };
  // A file without a single field (an empty export, or only broken lines) is still read, through
  // FullStory's first documented field: SQL has no zero-column read, and its rows and rejects
  // must land like any other's.
  const names = found.length > 0 ? found : [catalogFields(kind)[0]?.name ?? 'IndvId'];
  const { columns, extra } = typedColumns(input, names, options);
  // A CSV with no text at all (see fileColumns): nothing to read.
  const reader =
    input.format === 'csv' && found.length === 0
      ? noRows(columns)
      : await readerFor(db, input, columns, careful, options.asText ? extra : undefined);
  return gatherExtras({ ...reader, unread, sampled: false }, [...extra]);
}

/**
 * The file's fields as columns of their FullStory types, and those among them gathered into
 * `extras`. JSON keeps an extra field's value as sent (a number of any size, an object); CSV has
 * only text, typed by the field's suffix as its own column would be.
 */
function typedColumns(
  input: LoadInput,
  names: string[],
  options: ReaderOptions,
): { columns: FileColumn[]; extra: Set<string> } {
  const kind = input.kind as ExportKind;
  const extra = extrasAmong(kind, names, options);
  const columns = names.map((name) => ({
    name,
    type: extra.has(name) && input.format !== 'csv' ? ('json' as const) : fieldType(kind, name),
  }));
  return { columns, extra };
}

const settled = () => Promise.resolve<string[]>([]);

/** The fields among `names` that go into `extras`: neither FullStory's nor the table's. */
function extrasAmong(kind: ExportKind, names: string[], options: ReaderOptions): Set<string> {
  const { extras } = options;
  if (!extras) return new Set();
  return new Set(
    names.filter(
      (name) => name === EXTRAS_COLUMN || !(isCatalogField(kind, name) || extras.columns.has(name)),
    ),
  );
}

/**
 * Opens the file's reader on `db` and runs `work` with it. With `speculate` (the fast path of a
 * JSON file) the file is read sampled (see readSampled), or, a JSON array `beside`, its key pass
 * runs on a second connection of `instance` (see Speculation): `work` must await `reader.unread`
 * before it commits. Closes both once the key pass has ended. A sampled read that fails throws
 * SpeculationMissed, for withSpeculation to load the plain way.
 */
export async function withFileReader<T>(
  db: DuckDBConnection,
  input: LoadInput,
  options: ReaderOptions & { speculate?: SpeculateOptions },
  work: (reader: FileReader) => Promise<T>,
): Promise<T> {
  const { speculate, ...readerOptions } = options;
  const beside =
    speculate?.mode === 'beside' && input.format === 'json'
      ? await speculate.instance.connect()
      : undefined;
  let reader: FileReader | undefined;
  try {
    reader = withSetAside(
      await openFileReader(db, input, {
        ...readerOptions,
        ...(beside && speculate ? { speculate: { beside, known: speculate.known } } : {}),
        ...(speculate ? { sample: { known: speculate.known } } : {}),
      }),
      input.setAside,
    );
    return await work(reader);
  } catch (error) {
    beside?.interrupt(); // The load failed: the careful retry need not wait for the key pass.
    if (reader?.sampled && !isNotAboutTheFile(error)) throw new SpeculationMissed(error);
    throw error;
  } finally {
    await reader?.unread.catch(() => undefined);
    beside?.closeSync();
    await reader?.dispose();
  }
}

/** The reader for `columns` of the file; `asTextBut`: every JSON value as text, but those. */
async function readerFor(
  db: DuckDBConnection,
  input: LoadInput,
  columns: FileColumn[],
  careful: boolean,
  asTextBut: Set<string> | undefined,
): Promise<ReaderRows> {
  const file = literal(input.file);
  if (input.format === 'csv')
    return careful
      ? carefulCsvReader(db, input, columns)
      : { ...csvReader(input, columns), dispose: nothingToDispose };
  if (input.format === 'ndjson' && careful) return carefulNdjsonReader(db, input, columns);
  // One JSON array: a malformed element breaks the document; withCarefulRetry then splits it.
  const layout = input.format === 'json' ? 'array' : 'newline_delimited';
  const source = (readAs: FileColumn[]) =>
    `read_json(${file}, format = '${layout}', columns = ${typeList(readAs)})`;
  if (asTextBut)
    return plainRows(
      columns,
      source(columns.map((c) => (asTextBut.has(c.name) ? c : { ...c, type: 'string' as const }))),
    );
  return plainRows(columns, readStrictly(columns, source));
}

/** `columns` with the STRICT_TYPES ones read as text. */
function readAsText(columns: FileColumn[]): FileColumn[] {
  return columns.map((c) => (STRICT_TYPES.has(c.type) ? { ...c, type: 'string' as const } : c));
}

/**
 * The rows of `source` (a read of the columns it is given) with ids, numbers and booleans read as
 * text and cast strictly (see STRICT_TYPES): a value of the wrong type fails the read, where
 * DuckDB's reader would have cast it. Bench's 1M NDJSON rows into Parquet: 2.9 s typed, 3.4 s so.
 */
function readStrictly(columns: FileColumn[], source: (readAs: FileColumn[]) => string): string {
  return castingStrictly(columns, source(readAsText(columns)));
}

const NO_REJECTS = '(SELECT NULL::BIGINT AS line, NULL AS reason, NULL AS raw WHERE false)';
const nothingToDispose = async () => {};

/** A reader of `rows` that rejects nothing and leaves nothing on disk. */
function plainRows(columns: FileColumn[], rows: string): ReaderRows {
  return { columns, rows, rejects: NO_REJECTS, dispose: nothingToDispose };
}

/** A reader of `columns` that yields no rows and no rejects. */
function noRows(columns: FileColumn[]): ReaderRows {
  const nulls = columns.map((c) => `NULL::${DUCKDB_TYPES[c.type]} AS ${ident(c.name)}`);
  return plainRows(columns, `(SELECT ${nulls.join(', ')} WHERE false)`);
}

/**
 * `reader` with the fields named in `extra` folded into one JSON object per row, in the
 * `extras` column: only the fields a row has (a JSON null is no value), NULL for a row with none.
 */
function gatherExtras(reader: Omit<FileReader, 'extraFields'>, extra: string[]): FileReader {
  if (extra.length === 0) return { ...reader, extraFields: [] };
  const entries = extra.map((name) => `{'k': ${literal(name)}, 'v': to_json(${ident(name)})}`);
  const object = `to_json(map_from_entries(list_filter([${entries.join(', ')}], e -> e.v IS NOT NULL)))`;
  const none = extra.map((name) => `${ident(name)} IS NULL`).join(' AND ');
  const kept = reader.columns.filter((c) => !extra.includes(c.name));
  return {
    ...reader,
    columns: [...kept, { name: EXTRAS_COLUMN, type: 'json' }],
    rows: `(SELECT * EXCLUDE (${extra.map(ident).join(', ')}), CASE WHEN ${none} THEN NULL ELSE ${object} END AS ${ident(EXTRAS_COLUMN)} FROM ${reader.rows})`,
    extraFields: extra,
  };
}

/**
 * Runs `load` speculating if asked, and once more the plain way if the speculation missed, saying
 * why in `plainBecause`: a JSON array's key pass beside the load found a column the load missed
 * (`load` then rolled back and returned undefined), or a sampled read failed (SpeculationMissed).
 */
async function withSpeculation(
  mode: SpeculationMode | undefined,
  load: (mode: SpeculationMode | undefined) => Promise<LoadResult | undefined>,
): Promise<LoadResult> {
  let plainBecause: string | undefined;
  if (mode) {
    try {
      const result = await load(mode);
      if (result !== undefined) return result;
      plainBecause = `the whole file has fields its first ${SPECULATION_SAMPLE_ROWS} rows lack`;
    } catch (error) {
      if (!(error instanceof SpeculationMissed)) throw error;
      plainBecause = whyRefused(error.cause);
    }
  }
  const result = await load(undefined);
  if (result === undefined) throw new Error('a load that does not speculate cannot miss a column');
  return plainBecause ? { ...result, plainBecause } : result;
}

/**
 * How a fast-path load speculates on its columns: `sampled`, in one pass (see readSampled), or,
 * for a JSON array, with its whole-file key pass `beside` the load (see Speculation).
 */
export type SpeculationMode = 'sampled' | 'beside';

/**
 * How a fast-path load of `input` speculates, if it does: NDJSON sampled; a JSON array sampled
 * too (`arrays` 'sampled'), or beside where the sink's DuckDB runs under `arrays` and that memory
 * feeds both of its queries (see feedsTwoReaders). The load is then opened with the mode this
 * returns, so a sink states its choice once.
 *
 * But NDJSON staged as text, read on two threads, goes the plain way. Sampled, it would be read
 * from a copy behind its witnesses (see readSampled), and the key pass the plain way adds costs a
 * fraction over text of what it costs over a gzip: bench's 5M rows (4.6 GB of text) into DuckDB
 * took 34 s sampled (20 s of it writing the copy) against 21 s the plain way; 1M rows, 4.0 s
 * either way. On one thread (the PostgreSQL sink's read) text is read sampled without a copy.
 */
function speculates(
  input: LoadInput,
  careful: boolean,
  arrays: DuckDbLoadOptions | 'sampled',
): SpeculationMode | undefined {
  if (careful) return undefined;
  const twoReaders = arrays !== 'sampled' && feedsTwoReaders(arrays);
  if (input.format === 'ndjson')
    return twoReaders && !isGzipped(input.file) ? undefined : 'sampled';
  if (input.format !== 'json') return undefined;
  if (arrays === 'sampled') return 'sampled';
  return twoReaders ? 'beside' : undefined;
}

/** What a speculative load needs: its DuckDB, the sink's known columns, and how it speculates. */
export interface SpeculateOptions {
  instance: DuckDBInstance;
  known: string[];
  mode: SpeculationMode;
}

/** The first of `loads` that the file's contents do not refuse; the last one's refusal if all do. */
async function attempt(...loads: (() => Promise<LoadResult>)[]): Promise<LoadResult> {
  for (const [i, load] of loads.entries()) {
    try {
      return await load();
    } catch (error) {
      if (isNotAboutTheFile(error) || i === loads.length - 1) throw error;
    }
  }
  throw new Error('attempt: no load given');
}

/** `reader` with the lines set aside before the read (see setAsideMalformedLines) among its rejects. */
function withSetAside(reader: FileReader, setAside: string | undefined): FileReader {
  if (!setAside) return reader;
  return {
    ...reader,
    rejects: `(SELECT * FROM ${reader.rejects} UNION ALL SELECT line, reason, raw FROM read_json(${literal(setAside)}, format = 'newline_delimited', columns = ${REJECT_COLUMNS}))`,
  };
}

/**
 * Runs `load` on the fast path, and again if DuckDB refused the file, saying why in
 * `carefulBecause` (see loadCarefully).
 */
async function withCarefulRetry(
  input: LoadInput,
  load: (input: LoadInput, careful: boolean) => Promise<LoadResult>,
): Promise<LoadResult> {
  try {
    return await load(input, false);
  } catch (error) {
    // A sink that cannot be opened (another process holds the DuckDB file), or a load its export
    // no longer wants, says nothing of the file: reading it line by line would not help.
    if (isNotAboutTheFile(error)) throw error;
    return { ...(await loadCarefully(input, load, error)), carefulBecause: whyRefused(error) };
  }
}

/**
 * The load of a file DuckDB's reader refused (`refusal`). A JSON array is read as NDJSON, one
 * element a line (see JsonArrayLines), so a broken element is quarantined like a broken line
 * instead of failing the export. Broken lines (malformed JSON) are set aside first and the rest
 * loads on the fast path again; what that refuses too (a value of the wrong type), and a CSV, is
 * read line by line in SQL (`careful`), which finds every kind of bad row.
 */
async function loadCarefully(
  input: LoadInput,
  load: (input: LoadInput, careful: boolean) => Promise<LoadResult>,
  refusal: unknown,
): Promise<LoadResult> {
  if (input.format === 'csv') return load(input, true);
  const { files: temps, dispose } = tempFilesBeside(input, {
    array: `careful.ndjson${isGzipped(input.file) ? '.gz' : ''}`,
    passed: 'passed.ndjson',
    setAside: 'set-aside.ndjson',
  });
  try {
    // An array that cannot be split fails with DuckDB's refusal: that is the reason to report.
    const lines =
      input.format === 'json'
        ? await arrayAsLines(input, temps.array, refusal)
        : { ...input, format: 'ndjson' as const };
    const { passed, setAside } = temps;
    const malformed = /Malformed JSON/i.test(whyRefused(refusal));
    if (!malformed || (await setAsideMalformedLines(lines.file, passed, setAside)) === 0)
      return await load(lines, true);
    const rest = { ...lines, file: passed, setAside };
    return await attempt(
      () => load(rest, false),
      () => load(lines, true),
      // The SQL read refuses a file with bytes that are not UTF-8, which the rest does not hold.
      // Its rejects' line numbers then count the rest's lines, not the file's.
      () => load(rest, true),
    );
  } finally {
    await dispose();
  }
}

/** `input`, a JSON array, as NDJSON in `file`, one element a line; throws `refusal` if it is not. */
async function arrayAsLines(input: LoadInput, file: string, refusal: unknown): Promise<LoadInput> {
  await jsonArrayToNdjson(input.file, file).catch(() => {
    throw refusal;
  });
  return { ...input, file, format: 'ndjson' };
}

/**
 * Runs `load`, and for a JSON array that ran out of memory even on one thread, again on its
 * elements as NDJSON, one a line (see JsonArrayLines), saying why in `asLinesBecause`. The files
 * sink's NDJSON write of an array of 16 KB rows ran out of 256MB on one thread, where the same
 * rows as lines wrote at 64 KB; the split is a streaming pass in Node that parses nothing.
 */
async function withArrayAsLines(
  input: LoadInput,
  load: (input: LoadInput) => Promise<LoadResult>,
): Promise<LoadResult> {
  try {
    return await load(input);
  } catch (error) {
    if (input.format !== 'json' || !isSinkError(error, 'sink.out_of_memory')) throw error;
    const file = `${input.file}.${process.pid}.${randomUUID()}.lines.ndjson${isGzipped(input.file) ? '.gz' : ''}`;
    try {
      // An array that cannot be split fails with running out of memory, the reason to report.
      const lines = await load(await arrayAsLines(input, file, error));
      return { ...lines, asLinesBecause: whyRefused(error.cause ?? error) };
    } finally {
      await rm(file, { force: true });
    }
  }
}

/**
 * A whole sink load under the sink's DuckDB `options`, with every way back it has: speculating on
 * the columns first (see withSpeculation; a JSON array `beside` where that memory feeds two
 * readers, or `sampled`), the careful retry, the one-thread retry (see withOneThreadRetry), a JSON
 * array read as lines when even that ran out of memory (see withArrayAsLines), and a final
 * failure reported as a SinkError naming `what`, which another run of the job may cure where
 * `retryable` says so (a dropped connection). `load` runs one attempt.
 */
export async function loadWithRetries(
  input: LoadInput,
  what: string,
  options: DuckDbLoadOptions,
  load: (
    input: LoadInput,
    careful: boolean,
    mode: SpeculationMode | undefined,
    options: DuckDbLoadOptions,
  ) => Promise<LoadResult | undefined>,
  how: { arrays: 'sampled' | 'beside'; retryable?: (error: unknown) => boolean },
): Promise<LoadResult> {
  try {
    return await withArrayAsLines(input, (whole) =>
      withOneThreadRetry(options, (settings) =>
        withCarefulRetry(whole, (source, careful) => {
          const arrays = how.arrays === 'sampled' ? 'sampled' : settings;
          return withSpeculation(speculates(source, careful, arrays), (mode) =>
            load(source, careful, mode, settings),
          );
        }),
      ),
    );
  } catch (error) {
    if (isNotAboutTheFile(error)) throw error;
    throw new SinkError('sink.load_failed', `${what} failed: ${String(error)}`, {
      cause: error,
      retryable: how.retryable?.(error) ?? false,
    });
  }
}
