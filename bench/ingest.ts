// bench/ingest: fsx's ingest into DuckDB, PostgreSQL and Parquet files beside each one's own
// loader (or writer), on the same gzipped export files, in the same run. Prints rows/s, peak RSS
// and ratios.
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { generateExportFile } from '@fsx/fullstory-sim';
import { providePostgres } from '@fsx/testing';
import pg from 'pg';
import { table } from './stats.js';

const run = promisify(execFile);
const ROWS = (process.env.BENCH_ROWS ?? '1000000').split(',').map(Number);
const FORMATS = (process.env.BENCH_FORMATS ?? 'ndjson,json,csv').split(',') as (
  | 'json'
  | 'ndjson'
  | 'csv'
)[];
const SINKS = (process.env.BENCH_SINKS ?? 'duckdb,postgres,files').split(',');
const dir = process.env.BENCH_DIR ?? path.join(os.tmpdir(), 'fsx-bench-ingest');
await mkdir(dir, { recursive: true });
const postgres = await providePostgres();

/**
 * Each load starts from a quiet machine: the previous load's dirty pages written out, and
 * PostgreSQL's vacuum and checkpoint done (otherwise autovacuum of the rows just loaded runs
 * during the next load), so no load pays for another's writes.
 */
async function settle(): Promise<void> {
  await run('sync', []);
  const client = new pg.Client({ connectionString: postgres.url });
  await client.connect();
  // Needs the table's owner and superuser or pg_checkpoint; without them the run is only noisier.
  await client.query('VACUUM').catch(() => undefined);
  await client.query('CHECKPOINT').catch(() => undefined);
  await client.end();
}

async function measured(
  command: string,
  args: string[],
): Promise<{ stdout: string; maxRssMb: number; seconds: number }> {
  await settle();
  const { stdout, stderr } = await run('/usr/bin/time', ['-f', 'FSXTIME %M %e', command, ...args], {
    maxBuffer: 1 << 24,
  });
  const [, kb, seconds] = /FSXTIME (\d+) ([\d.]+)/.exec(stderr) ?? [];
  return { stdout, maxRssMb: Number(kb) / 1024, seconds: Number(seconds) };
}

async function child(mode: string, file: string, format: string, target: string) {
  const result = await measured(process.execPath, [
    '--import',
    'tsx',
    path.join(import.meta.dirname, 'ingest-child.ts'),
    mode,
    file,
    format,
    target,
  ]);
  const { rows, ms } = JSON.parse(result.stdout) as { rows: number; ms: number };
  return { rows, rowsPerSecond: rows / (ms / 1000), maxRssMb: result.maxRssMb };
}

async function psqlCopy(csvFile: string, header: string) {
  const client = new pg.Client({ connectionString: postgres.url });
  await client.connect();
  await client.query('DROP TABLE IF EXISTS bench_native');
  // The same typed columns fsx created, so both loaders do the same conversions.
  const columns = header
    .split(',')
    .map((c) => `"${c}"`)
    .join(', ');
  await client.query(
    `CREATE TABLE bench_native AS SELECT ${columns} FROM public.events WITH NO DATA`,
  );
  await client.end();
  const result = await measured('psql', [
    postgres.url,
    '-v',
    'ON_ERROR_STOP=1',
    '-c',
    `\\copy bench_native (${columns}) FROM '${csvFile}' CSV HEADER`,
  ]);
  const rows = Number(/COPY (\d+)/.exec(result.stdout)?.[1]);
  return { rows, rowsPerSecond: rows / result.seconds, maxRssMb: result.maxRssMb };
}

/** The same rows as an uncompressed CSV, for psql's COPY (the loader's best case). */
async function uncompressedCsv(rows: number): Promise<string> {
  const csvGz = path.join(dir, `events-${rows}.csv.gz`);
  if (!existsSync(csvGz))
    await generateExportFile({ path: csvGz, type: 'events', format: 'csv', rows });
  const csvFile = path.join(dir, `events-${rows}.csv`);
  if (!existsSync(csvFile)) await run('sh', ['-c', `gunzip -c '${csvGz}' > '${csvFile}'`]);
  return csvFile;
}

type Measured = Awaited<ReturnType<typeof child>>;
const results: Record<string, string | number>[] = [];
for (const rows of ROWS) {
  for (const format of FORMATS) {
    const file = path.join(dir, `events-${rows}.${format}.gz`);
    if (!existsSync(file)) {
      process.stderr.write(`generating ${file}…\n`);
      await generateExportFile({ path: file, type: 'events', format, rows });
    }
    const duckFile = path.join(dir, 'fsx.duckdb');
    const nativeFile = path.join(dir, 'native.duckdb');
    await rm(duckFile, { force: true });
    await rm(nativeFile, { force: true });
    const row = (sink: string, fsx: Measured, native: Measured, loader: string) => ({
      rows,
      format,
      sink,
      'fsx rows/s': Math.round(fsx.rowsPerSecond),
      'fsx peak RSS MB': Math.round(fsx.maxRssMb),
      loader,
      'loader rows/s': Math.round(native.rowsPerSecond),
      'loader peak RSS MB': Math.round(native.maxRssMb),
      'fsx/loader speed': (fsx.rowsPerSecond / native.rowsPerSecond).toFixed(2),
    });
    const before = results.length;
    if (SINKS.includes('duckdb')) {
      const fsxDuck = await child('fsx-duckdb', file, format, duckFile);
      const nativeDuck = await child('native-duckdb', file, format, nativeFile);
      results.push(row('duckdb', fsxDuck, nativeDuck, format === 'csv' ? 'read_csv' : 'read_json'));
    }
    if (SINKS.includes('postgres')) {
      const fsxPg = await child('fsx-postgres', file, format, postgres.url);
      const csvFile = await uncompressedCsv(rows);
      const header = (await run('head', ['-1', csvFile])).stdout.trim();
      const nativePg = await psqlCopy(csvFile, header);
      results.push(row('postgres', fsxPg, nativePg, 'psql \\copy (CSV)'));
    }
    if (SINKS.includes('files')) {
      const fsxDir = path.join(dir, 'fsx-files');
      const nativeDir = path.join(dir, 'native-files');
      await rm(fsxDir, { recursive: true, force: true });
      await rm(nativeDir, { recursive: true, force: true });
      const fsxFiles = await child('fsx-files', file, format, fsxDir);
      const nativeFiles = await child('native-files', file, format, nativeDir);
      results.push(row('files', fsxFiles, nativeFiles, 'COPY TO parquet'));
    }
    process.stderr.write(`${table(results.slice(before))}\n`);
  }
}
process.stdout.write(
  `bench/ingest on ${os.cpus().length} cores, ${Math.round(os.totalmem() / 2 ** 30)} GiB, Node ${process.version}\n`,
);
process.stdout.write(`${table(results)}\n`);
await postgres.stop();
