import { createReadStream, createWriteStream } from 'node:fs';
import { mkdir, readdir, rename, rm } from 'node:fs/promises';
import path from 'node:path';
import { Transform, Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { createExportGunzip } from '@fsx/sinks';

/** Files between download and ingest. A directory; a shared volume when workers span machines. */
export class StagingStore {
  constructor(readonly dir: string) {}

  /**
   * Where the download lands, gzipped as FullStory sends it. Named by our export id and format
   * only: a server-given file name never becomes a path.
   */
  pathFor(exportId: string, format: string): string {
    return `${this.textPathFor(exportId, format)}.gz`;
  }

  /**
   * Where the download stage puts the export's text for ingest (see inflateGzip). Removing it
   * (`remove`) removes the gzip beside it too.
   */
  textPathFor(exportId: string, format: string): string {
    if (!EXPORT_ID.test(exportId)) throw new Error(`unsafe export id ${exportId}`);
    return path.join(this.dir, `${exportId}.${format}`);
  }

  async prepare(): Promise<void> {
    await mkdir(this.dir, { recursive: true });
  }

  /**
   * Removes a staged file and what loads of it left beside it (`<file>.<pid>.…`: the sampled
   * read's copy, the careful read's lines), which a worker killed mid-load never removed.
   */
  async remove(file: string): Promise<void> {
    await rm(file, { force: true });
    const prefix = `${path.basename(file)}.`;
    const beside = await readdir(path.dirname(file)).catch(() => []);
    for (const name of beside.filter((n) => n.startsWith(prefix))) {
      await rm(path.join(path.dirname(file), name), { force: true });
    }
  }

  /**
   * Removes every file of the exports `hasEnded` says are over, and returns their ids. Ingest
   * removes what it loads, but an export cancelled or failed after its download, or a worker
   * killed between completing an export and removing its files, leaves them behind, the text
   * ten times the gzip. Files of an export `hasEnded` does not know are for it to keep.
   */
  async sweep(hasEnded: (exportId: string) => Promise<boolean>): Promise<string[]> {
    const names = await readdir(this.dir).catch(() => []);
    // Every file of an export is named `<export id>.…`.
    const ids = new Set(names.map((name) => name.split('.', 1)[0] ?? ''));
    const swept: string[] = [];
    for (const exportId of ids) {
      if (!EXPORT_ID.test(exportId) || !(await hasEnded(exportId))) continue;
      for (const name of names.filter((n) => n.startsWith(`${exportId}.`)))
        await rm(path.join(this.dir, name), { force: true });
      swept.push(exportId);
    }
    return swept;
  }
}

/** What an export id may be, so that one is safe in a file name. */
const EXPORT_ID = /^[A-Za-z0-9-]+$/;

export class GzipBombError extends Error {
  readonly code = 'pipeline.gzip_bomb';
  readonly retryable = false;
}

/**
 * Reads a gzip file through to its end: throws on a truncated or corrupt file, and stops at
 * `maxBytes` of decompressed output (a gzip bomb would otherwise fill the disk and the sink).
 */
export async function verifyGzip(
  file: string,
  maxBytes = Number.POSITIVE_INFINITY,
): Promise<number> {
  const discard = new Writable({ write: (_chunk, _encoding, done) => done() });
  return inflateInto(file, maxBytes, discard);
}

/**
 * verifyGzip, keeping the text at `target`: the sinks' DuckDB then reads text, which spares it
 * an inflate of its own per pass over the file, slower than Node's (bench/ingest, 1M NDJSON rows
 * into PostgreSQL: 7.2–8.2 s from the gzip, 6.0–6.8 s from the text). The text is written beside
 * `target` and renamed into place, so a `target` that exists is whole.
 */
export async function inflateGzip(
  file: string,
  target: string,
  maxBytes = Number.POSITIVE_INFINITY,
): Promise<number> {
  const partial = `${target}.${process.pid}.inflating`;
  try {
    const bytes = await inflateInto(file, maxBytes, createWriteStream(partial, { mode: 0o600 }));
    await rename(partial, target);
    return bytes;
  } catch (error) {
    await rm(partial, { force: true });
    throw error;
  }
}

async function inflateInto(file: string, maxBytes: number, out: Writable): Promise<number> {
  let total = 0;
  const capped = new Transform({
    transform(chunk: Buffer, _encoding, done) {
      total += chunk.length;
      if (total > maxBytes) done(new GzipBombError(`decompresses to more than ${maxBytes} bytes`));
      else done(null, chunk);
    },
  });
  await pipeline(createReadStream(file), createExportGunzip(), capped, out);
  return total;
}
