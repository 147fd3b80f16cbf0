import { createReadStream } from 'node:fs';
import { mkdir, readdir, rm } from 'node:fs/promises';
import path from 'node:path';
import { Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { createExportGunzip } from '@fsx/sinks';

/** Files between download and ingest. A directory; a shared volume when workers span machines. */
export class StagingStore {
  constructor(readonly dir: string) {}

  /** Named by our export id and format only: a server-given file name never becomes a path. */
  pathFor(exportId: string, format: string): string {
    if (!/^[A-Za-z0-9-]+$/.test(exportId)) throw new Error(`unsafe export id ${exportId}`);
    return path.join(this.dir, `${exportId}.${format}.gz`);
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
}

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
  let total = 0;
  await pipeline(
    createReadStream(file),
    createExportGunzip(),
    new Writable({
      write(chunk: Buffer, _encoding, done) {
        total += chunk.length;
        done(
          total > maxBytes
            ? new GzipBombError(`decompresses to more than ${maxBytes} bytes`)
            : null,
        );
      },
    }),
  );
  return total;
}
