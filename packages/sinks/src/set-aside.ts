import { isUtf8 } from 'node:buffer';
import { once } from 'node:events';
import { createWriteStream, type WriteStream } from 'node:fs';
import { finished } from 'node:stream/promises';
import { readExportText } from './export-text.js';

const NEWLINE = 0x0a;

/** Why a line of NDJSON is not a row (the careful SQL path's reasons), or undefined if it is one. */
function whyNotARow(line: Buffer): string | undefined {
  let value: unknown;
  try {
    if (!isUtf8(line)) return 'malformed JSON';
    value = JSON.parse(line.toString('utf8'));
  } catch {
    // JSON.parse of a blank line throws too; DuckDB's reader skips those, and so do we.
    return /^\s*$/.test(line.toString('latin1')) ? undefined : 'malformed JSON';
  }
  return typeof value === 'object' && value !== null && !Array.isArray(value)
    ? undefined
    : 'not a JSON object';
}

async function write(stream: WriteStream, data: Buffer | string): Promise<void> {
  if (!stream.write(data)) await once(stream, 'drain');
}

/**
 * Copies the NDJSON `file` (gzip or text) to `passed` (text) without the lines that are not JSON
 * objects, which go to `setAside` as NDJSON of their line number in the file, the reason and the
 * line. A file DuckDB refused for a few broken lines then loads on the fast path: this pass over
 * 1M rows takes 5-8 s here, where the careful path's checks of every line in SQL take about
 * 11 s (20 s before they spared rows' lines trim(), see file-reader's NOT_BLANK). Streams, copying
 * the runs of good lines as they are. Returns how many lines it set aside.
 */
export async function setAsideMalformedLines(
  file: string,
  passed: string,
  setAside: string,
): Promise<number> {
  const out = createWriteStream(passed);
  const aside = createWriteStream(setAside);
  let lineNumber = 0;
  let count = 0;
  const setAsideLine = async (line: Buffer, reason: string) => {
    count++;
    const raw = line.toString('utf8').replace(/\r$/, '');
    await write(aside, `${JSON.stringify({ line: lineNumber, reason, raw })}\n`);
  };
  try {
    let rest = Buffer.alloc(0);
    for await (const chunk of readExportText(file) as AsyncIterable<Buffer>) {
      const buffer = rest.length > 0 ? Buffer.concat([rest, chunk]) : chunk;
      let start = 0;
      let run = 0; // where the run of good lines not yet copied starts
      for (let end = buffer.indexOf(NEWLINE); end !== -1; end = buffer.indexOf(NEWLINE, start)) {
        lineNumber++;
        const line = buffer.subarray(start, end);
        const reason = whyNotARow(line);
        if (reason) {
          if (start > run) await write(out, buffer.subarray(run, start));
          await setAsideLine(line, reason);
          run = end + 1;
        }
        start = end + 1;
      }
      if (start > run) await write(out, buffer.subarray(run, start));
      rest = Buffer.from(buffer.subarray(start)); // a copy: the chunk it points into is let go
    }
    if (rest.length > 0) {
      lineNumber++;
      const reason = whyNotARow(rest);
      await (reason ? setAsideLine(rest, reason) : write(out, rest));
    }
  } finally {
    out.end();
    aside.end();
    await Promise.all([finished(out), finished(aside)]);
  }
  return count;
}
