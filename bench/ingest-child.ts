// One measured load, in its own process so its peak RSS is its own. Prints JSON on stdout.
import { mkdir } from 'node:fs/promises';
import { performance } from 'node:perf_hooks';
import { DuckDBInstance } from '@duckdb/node-api';
import { DuckDbSink, FilesSink, PostgresSink } from '@fsx/sinks';

const [mode, file, format, target] = process.argv.slice(2) as [
  string,
  string,
  'json' | 'ndjson' | 'csv',
  string,
];
// fsx's DuckDB and files sinks under another memory limit than their default (one thread per 80 MiB).
const memoryLimit = process.env.BENCH_DUCKDB_MEMORY_LIMIT;
/** DuckDB's own reader of the file, with its own detection. */
function reader(file: string, format: 'json' | 'ndjson' | 'csv'): string {
  return format === 'csv'
    ? `read_csv('${file}', header = true)`
    : `read_json('${file}', format = '${format === 'json' ? 'array' : 'newline_delimited'}')`;
}

const started = performance.now();
let rows = 0;
if (mode === 'fsx-duckdb' || mode === 'fsx-files' || mode === 'fsx-files-ndjson') {
  const limits = memoryLimit ? { memoryLimit } : {};
  const sink =
    mode === 'fsx-duckdb'
      ? new DuckDbSink({ path: target, ...limits })
      : new FilesSink({
          dir: target,
          format: mode === 'fsx-files' ? 'parquet' : 'ndjson',
          ...limits,
        });
  rows = (await sink.load({ exportId: 'bench', kind: 'events', format, file })).rows;
} else if (mode === 'fsx-postgres') {
  const sink = new PostgresSink({ connectionString: target });
  rows = (await sink.load({ exportId: `bench-${format}`, kind: 'events', format, file })).rows;
  await sink.close();
} else if (mode === 'native-files') {
  // DuckDB's own Parquet writer, partitioned by day as the files sink is, with its defaults.
  const db = await (await DuckDBInstance.create(':memory:')).connect();
  const result = await db.run(
    `COPY (SELECT *, strftime("EventStart"::TIMESTAMPTZ, '%Y-%m-%d') AS day FROM ${reader(file, format)})
     TO '${target}' (FORMAT parquet, PARTITION_BY (day), OVERWRITE_OR_IGNORE)`,
  );
  rows = Number(result.rowsChanged);
  db.closeSync();
} else if (mode === 'native-ndjson-files') {
  // DuckDB's own JSON writer, with its defaults: one file, as it has no PARTITION_BY.
  await mkdir(target, { recursive: true });
  const db = await (await DuckDBInstance.create(':memory:')).connect();
  const result = await db.run(
    `COPY (SELECT * FROM ${reader(file, format)}) TO '${target}/all.json' (FORMAT json)`,
  );
  rows = Number(result.rowsChanged);
  db.closeSync();
} else if (mode === 'native-duckdb') {
  const db = await (await DuckDBInstance.create(target)).connect();
  await db.run(`CREATE OR REPLACE TABLE native AS SELECT * FROM ${reader(file, format)}`);
  rows = Number(
    (await db.runAndReadAll('SELECT count(*) AS n FROM native')).getRowObjectsJS()[0]?.n,
  );
  db.closeSync();
}
const ms = performance.now() - started;
process.stdout.write(JSON.stringify({ rows, ms }));
