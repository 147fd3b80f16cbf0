import { randomUUID } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { open, rm, statfs } from 'node:fs/promises';
import path from 'node:path';
import { Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { createGunzip } from 'node:zlib';
import type { LoadInput } from './sink.js';

/** The default cap on an uncompressed copy: a 5M-row NDJSON export is about 4.5 GB. */
export const DEFAULT_PLAIN_COPY_MAX_BYTES = 8 * 2 ** 30;

class CopyTooBigError extends Error {}

/** What a gzip declares as its uncompressed size (its last 4 bytes, modulo 2^32: a hint). */
async function declaredSize(file: string): Promise<number> {
  const handle = await open(file, 'r');
  try {
    const { size } = await handle.stat();
    if (size < 18) return 0;
    const trailer = Buffer.alloc(4);
    await handle.read(trailer, 0, 4, size - 4);
    return trailer.readUInt32LE(0);
  } finally {
    await handle.close();
  }
}

/** Room for the copy and as much again: a copy never fills the staging disk. */
async function roomFor(file: string, maxBytes: number): Promise<boolean> {
  const expected = await declaredSize(file);
  if (maxBytes <= 0 || expected > maxBytes) return false;
  const disk = await statfs(path.dirname(file));
  return disk.bavail * disk.bsize > 2 * Math.max(expected, 2 ** 30);
}

async function decompress(file: string, target: string, maxBytes: number): Promise<void> {
  let written = 0;
  await pipeline(
    createReadStream(file),
    createGunzip({ chunkSize: 256 * 1024 }),
    new Transform({
      transform(chunk: Buffer, _encoding, done) {
        written += chunk.length;
        done(written > maxBytes ? new CopyTooBigError(`over ${maxBytes} bytes`) : null, chunk);
      },
    }),
    createWriteStream(target, { highWaterMark: 2 ** 20 }),
  );
}

/**
 * Runs `work` on an uncompressed copy of the staged gzip when it pays and there is room, else on
 * the gzip itself. DuckDB decompresses a gzip on one thread and reads it serially, but splits a
 * plain file between all its threads, and Node's zlib inflates faster than DuckDB's. On 1M rows
 * (copy included): a JSON array 9.0 s → 7.8 s, CSV 4.0 s → 3.6 s into DuckDB. NDJSON gains
 * nothing (its read is already parallel; the copy's 1.3 s eats the key pass's 0.7 s and the table
 * write sets the pace), so it reads the gzip. The copy costs disk (7–8× the gzip) for the length
 * of one load, so it is capped by `maxBytes` (0 turns it off) and by the free space; past either,
 * or if it fails, `work` reads the gzip as before.
 */
export async function withPlainCopy<T>(
  input: LoadInput,
  maxBytes: number,
  work: (input: LoadInput) => Promise<T>,
): Promise<T> {
  if (input.format === 'ndjson' || !(await roomFor(input.file, maxBytes).catch(() => false)))
    return work(input);
  // DuckDB reads the compression from the extension: the copy's name must not end in .gz.
  const target = `${input.file}.${process.pid}.${randomUUID()}.plain.${input.format}`;
  try {
    try {
      await decompress(input.file, target, maxBytes);
    } catch {
      // Too big after all, or not a whole gzip: the gzip path says what DuckDB makes of it.
      await rm(target, { force: true });
      return await work(input);
    }
    return await work({ ...input, file: target });
  } finally {
    await rm(target, { force: true });
  }
}
