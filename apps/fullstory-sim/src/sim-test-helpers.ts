import { createHash } from 'node:crypto';
import { gunzipSync } from 'node:zlib';
import { parse as parseCsv } from 'csv-parse/sync';
import { request } from 'undici';

export const ADMIN = 'na1.sim-admin';
export const STANDARD = 'na1.sim-standard';

export async function call(
  base: string,
  method: 'GET' | 'POST',
  path: string,
  options: { key?: string | null; body?: unknown; headers?: Record<string, string> } = {},
) {
  const key = options.key === undefined ? ADMIN : options.key;
  const response = await request(`${base}${path}`, {
    method,
    headers: {
      ...(key ? { authorization: `Basic ${key}` } : {}),
      ...(options.body !== undefined ? { 'content-type': 'application/json' } : {}),
      ...options.headers,
    },
    ...(options.body !== undefined ? { body: JSON.stringify(options.body) } : {}),
  });
  const text = await response.body.text();
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    json = undefined;
  }
  return {
    status: response.statusCode,
    headers: response.headers,
    text,
    json: json as Record<string, any>,
  };
}

export async function download(url: string, headers: Record<string, string> = {}) {
  const response = await request(url, { headers });
  const bytes = Buffer.from(await response.body.arrayBuffer());
  return { status: response.statusCode, headers: response.headers, bytes };
}

export const sha256 = (bytes: Buffer) => createHash('sha256').update(bytes).digest('hex');

/** Parses an export file's rows, whatever its format, keeping ids above 2^53 as text. */
export function rowsOf(gzipped: Buffer, format: string): Record<string, unknown>[] {
  const text = gunzipSync(gzipped).toString('utf8');
  const lossless = (line: string) =>
    JSON.parse(line.replace(/(?<=[:[,]\s*)(-?\d{16,})(?=\s*[,}\]])/g, '"$1"'));
  if (format === 'csv') return parseCsv(text, { columns: true, skip_empty_lines: true });
  if (format === 'ndjson') return text.split('\n').filter(Boolean).map(lossless);
  return lossless(text);
}
