import { createReadStream } from 'node:fs';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { createGunzip, type Gunzip } from 'node:zlib';

/**
 * Whether a staged export file is gzipped, as FullStory sends it (`….gz`), or its text, as the
 * download stage stages it since it inflates every byte anyway (see StagingStore). DuckDB tells
 * them apart the same way, by the name.
 */
export const isGzipped = (file: string): boolean => file.endsWith('.gz');

/**
 * A gunzip stream for whole-export passes. zlib's default 16 KiB output pieces cost a callback
 * and a stream write each: 256 KiB pieces made the download stage's check of 1M NDJSON rows 2.7x
 * faster (2.7 s to 1.0 s), and mean fewer, bigger COPY messages into PostgreSQL.
 */
export function createExportGunzip(): Gunzip {
  return createGunzip({ chunkSize: 256 * 1024 });
}

/** A staged export's text, inflated from a gzipped one. Errors of the file reach the stream. */
export function readExportText(file: string): Readable {
  if (!isGzipped(file)) return createReadStream(file, { highWaterMark: 256 * 1024 });
  const gzipped = createReadStream(file);
  const text = createExportGunzip();
  gzipped.on('error', (error) => text.destroy(error));
  text.on('close', () => gzipped.destroy());
  return gzipped.pipe(text);
}

/** Whether an export file holds anything but whitespace; reads only as far as the first that does. */
export async function hasText(file: string): Promise<boolean> {
  let found = false;
  await pipeline(readExportText(file), async (text: AsyncIterable<Buffer>) => {
    for await (const piece of text) {
      found = /\S/.test(piece.toString('latin1'));
      if (found) return;
    }
  }).catch((error: unknown) => {
    if (!found) throw error; // Stopping at the first text aborts the rest of the pipeline.
  });
  return found;
}
