// bench/ingest: fsx's ingest into DuckDB, PostgreSQL and Parquet files beside each one's own
// loader (or writer), on the same staged export files, in the same run. Prints rows/s, peak RSS
// and ratios, and what staging each file costs the download stage.
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { generateExportFile } from '@fsx/fullstory-sim';
import { buildScript, buildWorkspace, DIST_CONDITION } from '@fsx/launcher';
import { inflateGzip, verifyGzip } from '@fsx/pipeline';
import { providePostgres } from '@fsx/testing';
import pg from 'pg';
import { median, table } from './stats.js';

const run = promisify(execFile);
const ROWS = (process.env.BENCH_ROWS ?? '1000000').split(',').map(Number);
const FORMATS = (process.env.BENCH_FORMATS ?? 'ndjson,json,csv').split(',') as (
  | 'json'
  | 'ndjson'
  | 'csv'
)[];
const SINKS = (process.env.BENCH_SINKS ?? 'duckdb,postgres,files').split(',');
/** Rounds per pair, alternating which of the two goes first; the table shows medians. */
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);
const dir = process.env.BENCH_DIR ?? path.join(os.tmpdir(), 'fsx-bench-ingest');
await mkdir(dir, { recursive: true });
/**
 * Days the export's events span (the simulator's window from 2026-11-01). One day is one
 * partition for the files sink; an export over a month writes thirty, which costs it more.
 */
const DAYS = Number(process.env.BENCH_DAYS ?? 1);
const window = {
  startMs: Date.parse('2026-11-01T00:00:00Z'),
  endMs: Date.parse('2026-11-01T00:00:00Z') + DAYS * 86_400_000,
};
/** The cached file of `rows` events in `extension`, named for its days unless one. */
const exportFile = (rows: number, extension: string) =>
  path.join(dir, `events-${rows}${DAYS > 1 ? `-${DAYS}d` : ''}.${extension}`);
/**
 * What the loads read, as the download stage stages it: the export's text (`STAGE_TEXT`, the
 * default) or its gzip. Each loader reads the same file as fsx; psql its CSV text either way.
 */
const STAGED = process.env.BENCH_STAGED ?? 'text';
if (STAGED !== 'text' && STAGED !== 'gzip') throw new Error('BENCH_STAGED is text or gzip');
const postgres = await providePostgres();

// Every load runs as production runs fsx: built JavaScript under plain Node. Through tsx, its
// loader thread added 25–33 MB to each load's peak RSS.
const CHILD = path.join(import.meta.dirname, 'dist', 'ingest-child.js');
await buildWorkspace(path.resolve(import.meta.dirname, '..'));
await buildScript(path.join(import.meta.dirname, 'ingest-child.ts'), CHILD);

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
    `--conditions=${DIST_CONDITION}`,
    CHILD,
    mode,
    file,
    format,
    target,
  ]);
  const { rows, ms } = JSON.parse(result.stdout) as { rows: number; ms: number };
  return { rows, rowsPerSecond: rows / (ms / 1000), maxRssMb: result.maxRssMb };
}

/** Empties fsx's events table, if the first fsx load has made it. */
async function truncateEvents(): Promise<void> {
  const client = new pg.Client({ connectionString: postgres.url });
  await client.connect();
  const exists = await client.query(`SELECT to_regclass('public.events') AS t`);
  if (exists.rows[0]?.t) await client.query('TRUNCATE TABLE public.events');
  await client.end();
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
  const csvGz = exportFile(rows, 'csv.gz');
  if (!existsSync(csvGz))
    await generateExportFile({ path: csvGz, type: 'events', format: 'csv', rows, window });
  return textOf(csvGz, rows, 'csv');
}

/** The text of the cached `gzip`, inflated as the download stage stages it (cached too). */
async function textOf(gzip: string, rows: number, format: string): Promise<string> {
  const text = exportFile(rows, format);
  if (!existsSync(text)) await inflateGzip(gzip, text);
  return text;
}

/**
 * The download stage's check of one gzip, in this process: inflating it to nowhere (STAGE_TEXT
 * false) against inflating it into the staged text (true), ROUNDS times each, taking turns.
 */
async function stagingCost(gzip: string) {
  const target = `${gzip}.bench-staged`;
  const seconds = { verify: [] as number[], stage: [] as number[] };
  for (let round = 0; round < ROUNDS; round++) {
    for (const way of round % 2 === 0
      ? (['verify', 'stage'] as const)
      : (['stage', 'verify'] as const)) {
      await settle();
      const started = performance.now();
      if (way === 'verify') await verifyGzip(gzip);
      else await inflateGzip(gzip, target);
      seconds[way].push((performance.now() - started) / 1000);
      await rm(target, { force: true });
    }
  }
  return {
    'verify s': median(seconds.verify).toFixed(2),
    'verify + stage text s': median(seconds.stage).toFixed(2),
  };
}

type Measured = Awaited<ReturnType<typeof child>>;
interface Contender {
  /** Clears what the previous round left, outside the measurement. */
  reset(): Promise<void>;
  load(): Promise<Measured>;
}

/**
 * fsx and the loader on the same file, ROUNDS times, taking turns at going first (the machine's
 * noise comes in bursts of minutes): speed is each one's median, the ratio the median of the
 * rounds' ratios with their range, peak RSS the highest of any round.
 */
async function pair(fsx: Contender, loader: Contender) {
  const rounds: { fsx: Measured; loader: Measured }[] = [];
  for (let round = 0; round < ROUNDS; round++) {
    const fsxFirst = round % 2 === 0;
    const measure = async (contender: Contender) => {
      await contender.reset();
      return contender.load();
    };
    const first = await measure(fsxFirst ? fsx : loader);
    const second = await measure(fsxFirst ? loader : fsx);
    rounds.push(fsxFirst ? { fsx: first, loader: second } : { fsx: second, loader: first });
  }
  const ratios = rounds.map((r) => r.fsx.rowsPerSecond / r.loader.rowsPerSecond);
  const speed = (side: 'fsx' | 'loader') => median(rounds.map((r) => r[side].rowsPerSecond));
  const rss = (side: 'fsx' | 'loader') => Math.max(...rounds.map((r) => r[side].maxRssMb));
  return {
    fsxRowsPerSecond: speed('fsx'),
    fsxRssMb: rss('fsx'),
    loaderRowsPerSecond: speed('loader'),
    loaderRssMb: rss('loader'),
    ratio: median(ratios),
    ratioRange: `${Math.min(...ratios).toFixed(2)}–${Math.max(...ratios).toFixed(2)}`,
  };
}

const results: Record<string, string | number>[] = [];
const staging: Record<string, string | number>[] = [];
for (const rows of ROWS) {
  for (const format of FORMATS) {
    const gzip = exportFile(rows, `${format}.gz`);
    if (!existsSync(gzip)) {
      process.stderr.write(`generating ${gzip}…\n`);
      await generateExportFile({ path: gzip, type: 'events', format, rows, window });
    }
    const file = STAGED === 'gzip' ? gzip : await textOf(gzip, rows, format);
    staging.push({ rows, format, ...(await stagingCost(gzip)) });
    const row = (sink: string, loader: string, measured: Awaited<ReturnType<typeof pair>>) => ({
      rows,
      ...(DAYS > 1 ? { days: DAYS } : {}),
      format,
      sink,
      'fsx rows/s': Math.round(measured.fsxRowsPerSecond),
      'fsx peak RSS MB': Math.round(measured.fsxRssMb),
      loader,
      'loader rows/s': Math.round(measured.loaderRowsPerSecond),
      'loader peak RSS MB': Math.round(measured.loaderRssMb),
      'fsx/loader speed': measured.ratio.toFixed(2),
      [`range of ${ROUNDS}`]: measured.ratioRange,
    });
    /** A load by `mode` into `target`, which is removed before each round. */
    const fresh = (mode: string, target: string): Contender => ({
      reset: () => rm(target, { recursive: true, force: true }),
      load: () => child(mode, file, format, target),
    });
    const before = results.length;
    if (SINKS.includes('duckdb')) {
      const measured = await pair(
        fresh('fsx-duckdb', path.join(dir, 'fsx.duckdb')),
        fresh('native-duckdb', path.join(dir, 'native.duckdb')),
      );
      results.push(row('duckdb', format === 'csv' ? 'read_csv' : 'read_json', measured));
    }
    if (SINKS.includes('postgres')) {
      const csvFile = await uncompressedCsv(rows);
      const header = (await run('head', ['-1', csvFile])).stdout.trim();
      const measured = await pair(
        {
          // Each round loads into an empty table, as the loader's does.
          reset: () => truncateEvents(),
          load: () => child('fsx-postgres', file, format, postgres.url),
        },
        { reset: async () => {}, load: () => psqlCopy(csvFile, header) },
      );
      results.push(row('postgres', 'psql \\copy (CSV)', measured));
    }
    if (SINKS.includes('files')) {
      const measured = await pair(
        fresh('fsx-files', path.join(dir, 'fsx-files')),
        fresh('native-files', path.join(dir, 'native-files')),
      );
      results.push(row('files', 'COPY TO parquet', measured));
    }
    if (SINKS.includes('files-ndjson')) {
      const measured = await pair(
        fresh('fsx-files-ndjson', path.join(dir, 'fsx-files-ndjson')),
        fresh('native-ndjson-files', path.join(dir, 'native-ndjson-files')),
      );
      results.push(row('files-ndjson', 'COPY TO json', measured));
    }
    process.stderr.write(`${table(results.slice(before))}\n`);
  }
}
process.stdout.write(
  `bench/ingest on ${os.cpus().length} cores, ${Math.round(os.totalmem() / 2 ** 30)} GiB, Node ${process.version}, loads read the staged ${STAGED}\n`,
);
process.stdout.write(`${table(results)}\n`);
process.stdout.write(
  `\nThe download stage's check of each gzip, without and with staging its text:\n`,
);
process.stdout.write(`${table(staging)}\n`);
await postgres.stop();
