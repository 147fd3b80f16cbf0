import { createWriteStream } from 'node:fs';
import { mkdir, rename, stat } from 'node:fs/promises';
import path from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { createGzip } from 'node:zlib';
import { RowDigest } from '@fsx/export-schema';
import { framing, type SimFormat } from './encode.js';
import type { RowSource } from './row.js';

export interface ExportFileInfo {
  path: string;
  bytes: number;
  rows: number;
  /** Order-independent content hash of the rows (see RowDigest). */
  hash: string;
}

const CHUNK_CHARS = 64 * 1024;

/** The uncompressed file, produced lazily a chunk at a time: millions of rows, little memory. */
export function exportBody(source: RowSource, count: number, format: SimFormat, digest?: RowDigest): Readable {
  const frame = framing(format, source.columns);
  function* chunks(): Generator<string> {
    let buffer = frame.head;
    for (let index = 0; index < count; index++) {
      const row = source.row(index);
      digest?.add(row);
      buffer += frame.record(row, index);
      if (buffer.length >= CHUNK_CHARS) {
        yield buffer;
        buffer = '';
      }
    }
    buffer += frame.tail;
    if (buffer) yield buffer;
  }
  return Readable.from(chunks(), { objectMode: false });
}

/** Writes the gzipped export to `file` atomically (temp then rename) and returns its digest. */
export async function writeExportFile(
  file: string,
  source: RowSource,
  count: number,
  format: SimFormat,
): Promise<ExportFileInfo> {
  await mkdir(path.dirname(file), { recursive: true });
  const digest = new RowDigest();
  const temp = `${file}.${process.pid}.${Date.now()}.tmp`;
  // Level 6 and a fixed zlib: the same rows always give the same bytes.
  await pipeline(exportBody(source, count, format, digest), createGzip({ level: 6 }), createWriteStream(temp));
  await rename(temp, file);
  const { size } = await stat(file);
  return { path: file, bytes: size, rows: digest.count, hash: digest.hash };
}
