import { randomUUID } from 'node:crypto';
import { type FileHandle, open, rm, writeFile } from 'node:fs/promises';
import { gzipSync } from 'node:zlib';
import type { FieldType } from '@fsx/export-schema';
import { isGzipped } from './export-text.js';
import type { LoadInput } from './sink.js';
import { castingStrictly, DUCKDB_TYPES, ident, literal, STRICT_TYPES } from './sql.js';

/** The first rows a speculative load takes its columns from (NDJSON and JSON arrays). */
export const SPECULATION_SAMPLE_ROWS = 10_000;

/**
 * Values that make DuckDB's detection land on each FullStory type, two rows' worth: an empty
 * string rules out the dates, times and UUIDs DuckDB would take text for, a fraction rules out
 * BIGINT for a number, and a string beside an integer leaves a JSON field as JSON.
 */
const WITNESS: Record<FieldType, [unknown, unknown]> = {
  string: ['', ''],
  timestamp: ['', ''],
  int64: [0, 0],
  number: [0.5, 0.5],
  bool: [true, true],
  json: ['', 0],
};

/**
 * An NDJSON export (or, for the PostgreSQL sink, a JSON array: its witnesses are then a file of
 * their own, read first) read in one pass, speculating on its columns. DuckDB's JSON reader refuses,
 * with an error, a row holding a key it did not expect, but only with columns it detected itself:
 * given columns, it drops such a key silently. So the load reads a copy of the file with two
 * "witness" rows put first (a gzip may hold several members: DuckDB reads them in turn), which
 * name every column of the sample and the sink (`columns`) with values that make DuckDB detect
 * FullStory's types, then casts what it detected as the plain read would have typed it and drops
 * the witness rows. A later field fails the load (SpeculationMissed), and the plain way, with its
 * whole-file key pass, loads it. bench/ingest's 1M rows, side by side: the key pass and the load
 * 5.4–6.5 s, this read with its copy 3.7–4.2 s.
 *
 * Ids, numbers and booleans are witnessed as JSON, which keeps each value's own text, and cast
 * from it strictly (see STRICT_TYPES): detected as BIGINT, a later 1.5 would be rounded to 2.
 * A column DuckDB detects as another type despite the witnesses (a UUID among strings) fails the
 * load too, on its first rows: read as DuckDB detected it, a UUID would lower its case. What
 * DuckDB detects is checked in the query itself (`typeof`: where it matches, the planner folds
 * the check away) rather than with a DESCRIBE first, which added about 45 MB to the load's peak
 * RSS.
 * `asTextBut`: every value as text, but those (see ReaderOptions.asText).
 *
 * An NDJSON file staged as text takes its witnesses as a file of its own, read first, as an array
 * does, rather than a copy of the text behind them: text is read sampled only on one thread (see
 * speculates), where the second file costs nothing. (On two threads DuckDB read the two files far
 * slower than one: bench's 1M rows into a table, 5.8 s against 3.7 s.)
 */
export async function readSampled(
  input: LoadInput,
  columns: { name: string; type: FieldType }[],
  asTextBut: Set<string> | undefined,
): Promise<{ rows: string; dispose(): Promise<void> }> {
  const witness = `fsx_witness_${randomUUID().replaceAll('-', '')}`;
  const array = input.format === 'json';
  const apart = array || !isGzipped(input.file);
  const written = `${input.file}.${process.pid}.${witness}.${array ? 'json' : 'ndjson'}${apart ? '' : '.gz'}`;
  const dispose = () => rm(written, { force: true });
  const asText = (name: string) => asTextBut !== undefined && !asTextBut.has(name);
  const witnessed = columns.map((c) => ({ ...c, type: witnessType(c.type) }));
  const [first, second] = witnessRows(witness, witnessed);
  try {
    // An array's gzip takes nothing in front of its `[`, and DuckDB refuses two arrays in one
    // stream: its witnesses are a file of their own, read first. DuckDB reads an array on one
    // thread per file anyway, so the load loses no parallelism, as NDJSON would.
    const lines = `${first}\n${second}\n`;
    const text = array ? `[${first},${second}]` : lines;
    if (apart) await writeFile(written, text, { flag: 'wx', mode: 0o600 });
    else await writeWitnessedCopy(input.file, written, lines);
  } catch (error) {
    await dispose();
    throw error;
  }
  const files = apart ? `[${literal(written)}, ${literal(input.file)}]` : literal(written);
  const source = `read_json(${files}, format = '${array ? 'array' : 'newline_delimited'}', records = 'true', sample_size = ${SPECULATION_SAMPLE_ROWS}, map_inference_threshold = -1)`;
  const values = columns.map((c, i) => {
    const to = asText(c.name) || STRICT_TYPES.has(c.type) ? 'VARCHAR' : DUCKDB_TYPES[c.type];
    return `${valueAs(ident(c.name), witnessed[i]?.type ?? c.type, to)} AS ${ident(c.name)}`;
  });
  const read = `(SELECT ${values.join(', ')} FROM ${source} WHERE ${ident(witness)} IS NULL)`;
  return {
    rows: castingStrictly(
      columns.filter((c) => !asText(c.name)),
      read,
    ),
    dispose,
  };
}

/**
 * The type a column's witnesses make DuckDB detect. A number, id or boolean is witnessed as JSON,
 * which keeps each value's own text, for a strict cast (see STRICT_TYPES) or, asked for as text,
 * as it is: detected as DOUBLE, BIGINT or BOOLEAN and cast back to text, it cost the PostgreSQL
 * sink's one DuckDB thread 15 % of its work (bench's 1M NDJSON rows written to /dev/null, five
 * runs each, taking turns: 6.75 s → 5.77 s median).
 */
function witnessType(type: FieldType): FieldType {
  return STRICT_TYPES.has(type) ? 'json' : type;
}

/** The two witness rows, as JSON: `witness` set, and each column with its witness value. */
function witnessRows(witness: string, columns: { name: string; type: FieldType }[]): string[] {
  return [0, 1].map((i) =>
    JSON.stringify({
      [witness]: true,
      ...Object.fromEntries(columns.map((c) => [c.name, WITNESS[c.type][i]])),
    }),
  );
}

/**
 * `file` with the witness rows first, as one more gzip member before the file's own. Copied
 * through one buffer: a stream's fresh buffer per chunk added 35 MB to the load's peak RSS.
 */
async function writeWitnessedCopy(file: string, copy: string, witnessLines: string): Promise<void> {
  const out = await open(copy, 'wx', 0o600);
  try {
    await writeAll(out, gzipSync(witnessLines));
    const from = await open(file, 'r');
    try {
      const buffer = Buffer.allocUnsafe(COPY_CHUNK_BYTES);
      for (;;) {
        const { bytesRead } = await from.read(buffer, 0, buffer.length, null);
        if (bytesRead === 0) break;
        await writeAll(out, buffer.subarray(0, bytesRead));
      }
    } finally {
      await from.close();
    }
  } finally {
    await out.close();
  }
}

const COPY_CHUNK_BYTES = 2 ** 20;

async function writeAll(out: FileHandle, bytes: Uint8Array): Promise<void> {
  for (let done = 0; done < bytes.length; ) {
    done += (await out.write(bytes, done, bytes.length - done)).bytesWritten;
  }
}

/**
 * `column`, of FullStory's `type`, as `to`: read as the witnesses make DuckDB detect it (text for a
 * timestamp, cast as the plain read casts it) or as JSON, which keeps each value as sent (a field
 * whose sampled values differ in type), cast the same way. Any other type DuckDB detected fails.
 */
function valueAs(column: string, type: FieldType, to: string): string {
  const witnessed = type === 'timestamp' ? 'VARCHAR' : DUCKDB_TYPES[type];
  const from = (detected: string) => {
    if (detected === to) return column;
    if (detected === 'JSON' && to === 'VARCHAR') return jsonText(column);
    return `CAST(${column} AS ${to})`;
  };
  const other = `error(concat('DuckDB detected ', ${literal(column)}, ' as ', typeof(${column})))`;
  const json = witnessed === 'JSON' ? '' : ` WHEN 'JSON' THEN ${from('JSON')}`;
  return `CASE typeof(${column}) WHEN '${witnessed}' THEN ${from(witnessed)}${json} ELSE ${other} END`;
}

/**
 * A JSON value's text as the plain read gives it: a string's content, any other value as JSON
 * (`1.5`, `[1]`). Only a string needs parsing: json_extract_string on every value was slower
 * than typing the numbers.
 */
function jsonText(column: string): string {
  return `CASE WHEN starts_with(${column}::VARCHAR, '"') THEN json_extract_string(${column}, '$') ELSE ${column}::VARCHAR END`;
}

/**
 * A speculative load that failed: the sampled read met a row it was not ready for (see
 * readSampled). The load runs again the plain way, which fails too if the file is the problem.
 */
export class SpeculationMissed extends Error {
  constructor(cause: unknown) {
    super(`the sampled read missed: ${String(cause)}`, { cause });
    this.name = 'SpeculationMissed';
  }
}
