import { randomUUID } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { rm } from 'node:fs/promises';
import { pipeline } from 'node:stream/promises';
import { gzipSync } from 'node:zlib';
import type { DuckDBConnection } from '@duckdb/node-api';
import type { FieldType } from '@fsx/export-schema';
import type { LoadInput } from './sink.js';
import { DUCKDB_TYPES, ident, literal } from './sql.js';

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
 * An NDJSON export read in one pass, speculating on its columns. DuckDB's JSON reader refuses,
 * with an error, a row holding a key it did not expect, but only with columns it detected itself:
 * given columns, it drops such a key silently. So the load reads a copy of the file with two
 * "witness" rows put first (a gzip may hold several members: DuckDB reads them in turn), which
 * name every column of the sample and the sink (`columns`) with values that make DuckDB detect
 * FullStory's types, then casts what it detected as the plain read would have typed it and drops
 * the witness rows. A later field fails the load (SpeculationMissed), and the plain way, with its
 * whole-file key pass, loads it. bench/ingest's 1M rows, side by side: the key pass and the load
 * 5.4–6.5 s, this read with its copy 3.7–4.2 s.
 *
 * Returns undefined where the read could not be exact: DuckDB could not sample the copy, or
 * detected a column as another type than FullStory's despite the witnesses (a column detected as
 * BIGINT would round a later 1.5 to 2, silently, and one detected as UUID would lower its case).
 * `asTextBut`: every value as text, but those (see ReaderOptions.asText).
 */
export async function readSampled(
  db: DuckDBConnection,
  input: LoadInput,
  columns: { name: string; type: FieldType }[],
  asTextBut: Set<string> | undefined,
): Promise<{ rows: string; dispose(): Promise<void> } | undefined> {
  const witness = `fsx_witness_${randomUUID().replaceAll('-', '')}`;
  const copy = `${input.file}.${process.pid}.${witness}.ndjson.gz`;
  const dispose = () => rm(copy, { force: true });
  try {
    await writeWitnessedCopy(input.file, copy, witness, columns);
    const source = `read_json(${literal(copy)}, format = 'newline_delimited', records = 'true', sample_size = ${SPECULATION_SAMPLE_ROWS}, map_inference_threshold = -1)`;
    const detected = await detectedTypes(db, source);
    const exact = detected && columns.every((c) => takesExactly(detected.get(c.name), c.type));
    if (!detected || !exact) {
      await dispose();
      return undefined;
    }
    const values = columns.map((c) => {
      const to = asTextBut && !asTextBut.has(c.name) ? 'VARCHAR' : DUCKDB_TYPES[c.type];
      return valueAs(ident(c.name), detected.get(c.name) ?? 'JSON', to);
    });
    return {
      rows: `(SELECT ${values.join(', ')} FROM ${source} WHERE ${ident(witness)} IS NULL)`,
      dispose,
    };
  } catch (error) {
    await dispose();
    throw error;
  }
}

/** `file` with the witness rows first, as one more gzip member before the file's own. */
async function writeWitnessedCopy(
  file: string,
  copy: string,
  witness: string,
  columns: { name: string; type: FieldType }[],
): Promise<void> {
  const row = (i: 0 | 1) =>
    JSON.stringify({
      [witness]: true,
      ...Object.fromEntries(columns.map((c) => [c.name, WITNESS[c.type][i]])),
    });
  const out = createWriteStream(copy, { flags: 'wx', mode: 0o600 });
  out.write(gzipSync(`${row(0)}\n${row(1)}\n`));
  await pipeline(createReadStream(file), out);
}

/** The column types DuckDB detects in `source`, or undefined if it cannot sample it. */
async function detectedTypes(
  db: DuckDBConnection,
  source: string,
): Promise<Map<string, string> | undefined> {
  try {
    const described = await db.runAndReadAll(`DESCRIBE SELECT * FROM ${source}`);
    return new Map(
      described.getRowObjectsJS().map((r) => [String(r.column_name), String(r.column_type)]),
    );
  } catch {
    return undefined; // The plain read says what is wrong with the file.
  }
}

/**
 * Whether a column DuckDB detected as `detected` reads every value as a column of FullStory's
 * `type` would: the same type; text for a timestamp, cast as the plain read casts; or JSON,
 * which keeps each value as sent, cast the same way.
 */
function takesExactly(detected: string | undefined, type: FieldType): boolean {
  if (detected === 'JSON') return true;
  if (type === 'timestamp') return detected === 'VARCHAR';
  return type !== 'json' && detected === DUCKDB_TYPES[type];
}

/** `column`, read as DuckDB detected it, as `to`. A JSON string's text is its value, unquoted. */
function valueAs(column: string, detected: string, to: string): string {
  if (detected === to) return column;
  if (detected === 'JSON' && to === 'VARCHAR') {
    return `json_extract_string(${column}, '$') AS ${column}`;
  }
  return `CAST(${column} AS ${to}) AS ${column}`;
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
