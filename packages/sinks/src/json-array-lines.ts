import { createWriteStream } from 'node:fs';
import { Transform, type TransformCallback } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { constants, createGzip } from 'node:zlib';
import { isGzipped, readExportText } from './export-text.js';

const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const COMMA = 0x2c;
const OPEN_BRACE = 0x7b;
const CLOSE_BRACE = 0x7d;
const OPEN_BRACKET = 0x5b;
const CLOSE_BRACKET = 0x5d;
const NEWLINE = 0x0a;
const RETURN = 0x0d;
const SPACE = 0x20;

/** Past this, an element is not a row but a broken array swallowing the rest of the file. */
const MAX_ELEMENT_BYTES = 16 * 2 ** 20;

const isBlank = (byte: number) =>
  byte === SPACE || byte === NEWLINE || byte === RETURN || byte === 9;

/**
 * Splits one JSON array into its elements, one a line, without parsing them: it only follows
 * strings and nesting to find the commas between elements. So an element that is not valid JSON
 * still comes out as one line of its own, for the quarantine, and the elements after it load.
 * (A JSON parser would stop at the first bad element; an unterminated string still swallows
 * the rest of the array, which then reaches the quarantine as one line.)
 */
export class JsonArrayLines extends Transform {
  private started = false;
  private ended = false;
  private depth = 0;
  private inString = false;
  private escaped = false;
  private pieces: Buffer[] = [];
  private pieceBytes = 0;

  override _transform(chunk: Buffer, _encoding: BufferEncoding, done: TransformCallback): void {
    // One push per chunk, not per element: a million small writes into the gzip stream that
    // follows cost 37 s on a 1M-row array, against 10 s in chunks.
    const lines: Buffer[] = [];
    let start = 0;
    for (let i = 0; i < chunk.length; i++) {
      const byte = chunk[i] as number;
      if (this.ended) continue;
      if (!this.started) {
        if (byte === OPEN_BRACKET) {
          this.started = true;
          start = i + 1;
        } else if (!isBlank(byte)) {
          done(new Error('the file is not a JSON array'));
          return;
        }
        continue;
      }
      if (this.inString) {
        if (this.escaped) this.escaped = false;
        else if (byte === BACKSLASH) this.escaped = true;
        else if (byte === QUOTE) this.inString = false;
        continue;
      }
      if (byte === QUOTE) this.inString = true;
      else if (byte === OPEN_BRACE || byte === OPEN_BRACKET) this.depth++;
      else if ((byte === CLOSE_BRACE || byte === CLOSE_BRACKET) && this.depth > 0) this.depth--;
      else if (this.depth === 0 && (byte === COMMA || byte === CLOSE_BRACKET)) {
        this.pieces.push(chunk.subarray(start, i));
        this.takeElement(lines);
        start = i + 1;
        this.ended = byte === CLOSE_BRACKET;
      }
    }
    if (this.started && !this.ended) {
      this.pieces.push(chunk.subarray(start));
      this.pieceBytes += chunk.length - start;
      if (this.pieceBytes > MAX_ELEMENT_BYTES) {
        done(new Error(`an element of the JSON array exceeds ${MAX_ELEMENT_BYTES} bytes`));
        return;
      }
    }
    done(null, lines.length > 0 ? Buffer.concat(lines) : undefined);
  }

  override _flush(done: TransformCallback): void {
    if (!this.started) {
      done(new Error('the file is not a JSON array'));
      return;
    }
    // No closing bracket: whatever is left is one last (broken) element.
    const lines: Buffer[] = [];
    if (!this.ended) this.takeElement(lines);
    done(null, lines.length > 0 ? Buffer.concat(lines) : undefined);
  }

  /** Adds the element gathered so far, as one line, to `lines`. */
  private takeElement(lines: Buffer[]): void {
    const joined = Buffer.concat(this.pieces);
    this.pieces = [];
    this.pieceBytes = 0;
    let first = 0;
    let last = joined.length;
    while (first < last && isBlank(joined[first] as number)) first++;
    while (last > first && isBlank(joined[last - 1] as number)) last--;
    if (first === last) return;
    const element = joined.subarray(first, last);
    // Valid JSON has no raw line break inside a string, so outside them they are only layout.
    for (let i = element.indexOf(NEWLINE); i !== -1; i = element.indexOf(NEWLINE, i + 1))
      element[i] = SPACE;
    for (let i = element.indexOf(RETURN); i !== -1; i = element.indexOf(RETURN, i + 1))
      element[i] = SPACE;
    lines.push(element, LINE_END);
  }
}

const LINE_END = Buffer.from('\n');

/**
 * Rewrites a JSON array as NDJSON, one element a line, at `target`: gzipped if `source` is (and
 * then `target` must end in `.gz`), else as text.
 */
export async function jsonArrayToNdjson(source: string, target: string): Promise<void> {
  // The copy lives for one careful load: the fastest level is enough.
  const gzip = isGzipped(source) ? [createGzip({ level: constants.Z_BEST_SPEED })] : [];
  await pipeline(readExportText(source), new JsonArrayLines(), ...gzip, createWriteStream(target));
}
