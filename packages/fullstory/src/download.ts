import { createWriteStream } from 'node:fs';
import { stat, truncate } from 'node:fs/promises';
import { Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { type Dispatcher, request } from 'undici';
import {
  DownloadExpiredError,
  DownloadRejectedError,
  type FullStoryError,
  TransientError,
} from './errors.js';
import { networkError, statusError } from './http.js';

export interface DownloadOptions {
  url: string;
  /** The file to write. Resumed from its current size when `resume` is set. */
  destination: string;
  dispatcher: Dispatcher;
  timeoutMs: number;
  /** Sent only to FullStory's own host (legacy bundles); never to storage. */
  headers?: Record<string, string>;
  /** Keep bytes already in `destination` from an earlier attempt. @defaultValue false */
  resume?: boolean;
  /** How many times to pick up after a reset. @defaultValue 5 */
  maxResumes?: number;
  /** Refuse files larger than this. @defaultValue 20 GiB */
  maxBytes?: number;
  /** Hosts a location may point at; empty allows any. */
  allowedHosts?: readonly string[];
}

export interface DownloadResult {
  bytes: number;
  /** From Content-Disposition, for display only: never used as a path. */
  fileName: string | undefined;
  resumes: number;
}

const LOOPBACK = new Set(['127.0.0.1', 'localhost', '[::1]', '::1']);

/**
 * Only allow-listed hosts (`storage.googleapis.com`, `host:port`), over https. Plain http only on
 * loopback, or to a host whose entry names it (`http://fullstory-sim:8787`): the simulator in
 * docker-compose's demo is another container, reached by name.
 */
export function checkLocation(url: string, allowedHosts: readonly string[] = []): URL {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch (error) {
    throw new DownloadRejectedError(`not a URL: ${url.slice(0, 100)}`, { cause: error });
  }
  const plainHttp = LOOPBACK.has(parsed.hostname) || allowedHosts.includes(`http://${parsed.host}`);
  if (parsed.protocol !== 'https:' && !(parsed.protocol === 'http:' && plainHttp)) {
    throw new DownloadRejectedError(`refusing ${parsed.protocol} location on ${parsed.host}`);
  }
  const entries = [parsed.host, parsed.hostname, `${parsed.protocol}//${parsed.host}`];
  if (allowedHosts.length > 0 && !entries.some((entry) => allowedHosts.includes(entry))) {
    throw new DownloadRejectedError(`host ${parsed.host} is not on the download allow-list`);
  }
  return parsed;
}

function fileNameFrom(disposition: string | string[] | undefined): string | undefined {
  const value = Array.isArray(disposition) ? disposition[0] : disposition;
  return value ? /filename\*?=(?:UTF-8'')?"?([^";]+)"?/i.exec(value)?.[1] : undefined;
}

function totalFrom(response: Dispatcher.ResponseData, offset: number): number | undefined {
  const range = response.headers['content-range'];
  const total = typeof range === 'string' ? /\/(\d+)$/.exec(range)?.[1] : undefined;
  if (total) return Number(total);
  const length = response.headers['content-length'];
  return typeof length === 'string' ? offset + Number(length) : undefined;
}

async function sizeOf(file: string): Promise<number> {
  try {
    return (await stat(file)).size;
  } catch {
    return 0;
  }
}

async function rejectionFor(response: Dispatcher.ResponseData): Promise<FullStoryError> {
  const text = await response.body.text().catch(() => '');
  // Cloud storage answers an expired signed URL with an XML error, not JSON.
  if (/<Code>\s*ExpiredToken\s*<\/Code>/.test(text) || /expired/i.test(text)) {
    const details = /<Details>([^<]*)<\/Details>/.exec(text)?.[1] ?? 'token expired';
    return new DownloadExpiredError(details);
  }
  if (response.statusCode === 403) {
    const code = /<Code>([^<]*)<\/Code>/.exec(text)?.[1] ?? 'access denied';
    return new DownloadRejectedError(code, { status: 403 });
  }
  return statusError('download', response.statusCode, text, response.headers);
}

/**
 * Streams a download to a file: no auth header to storage, resumes with Range after a reset,
 * checks the length it was promised. Constant memory whatever the file size.
 */
export async function downloadToFile(options: DownloadOptions): Promise<DownloadResult> {
  checkLocation(options.url, options.allowedHosts);
  const maxResumes = options.maxResumes ?? 5;
  const maxBytes = options.maxBytes ?? 20 * 1024 ** 3;
  let offset = options.resume ? await sizeOf(options.destination) : 0;
  if (!options.resume) await truncate(options.destination).catch(() => undefined);
  let total: number | undefined;
  let fileName: string | undefined;
  let lastError: unknown;

  for (let attempt = 0; attempt <= maxResumes; attempt++) {
    let response: Dispatcher.ResponseData;
    try {
      response = await request(options.url, {
        dispatcher: options.dispatcher,
        headersTimeout: options.timeoutMs,
        bodyTimeout: options.timeoutMs,
        headers: { ...options.headers, ...(offset > 0 ? { range: `bytes=${offset}-` } : {}) },
      });
    } catch (error) {
      lastError = networkError('download', error);
      continue;
    }
    if (response.statusCode === 416 && offset > 0) {
      // Asked for bytes past the end: the file was already whole (a re-run after a kill).
      await response.body.dump();
      if (totalFrom(response, 0) === offset) return { bytes: offset, fileName, resumes: attempt };
      offset = 0;
      continue;
    }
    if (response.statusCode !== 200 && response.statusCode !== 206) {
      const error = await rejectionFor(response);
      if (!error.retryable || error.code !== 'fullstory.transient') throw error;
      lastError = error;
      continue;
    }
    if (response.statusCode === 200 && offset > 0) offset = 0; // the server ignored Range: start over
    total = totalFrom(response, offset);
    fileName ??= fileNameFrom(response.headers['content-disposition']);
    if (total !== undefined && total > maxBytes) {
      await response.body.dump();
      throw new DownloadRejectedError(`file of ${total} bytes exceeds the ${maxBytes}-byte limit`);
    }
    let received = 0;
    const counter = new Transform({
      transform(chunk: Buffer, _encoding, done) {
        received += chunk.length;
        if (offset + received > maxBytes)
          done(new DownloadRejectedError(`file exceeds the ${maxBytes}-byte limit`));
        else done(null, chunk);
      },
    });
    let failed = false;
    try {
      await pipeline(
        response.body,
        counter,
        createWriteStream(options.destination, { flags: offset > 0 ? 'r+' : 'w', start: offset }),
      );
    } catch (error) {
      if (error instanceof DownloadRejectedError) throw error;
      failed = true;
      lastError = networkError('download', error);
    }
    offset = await sizeOf(options.destination);
    if (total === undefined ? !failed : offset === total)
      return { bytes: offset, fileName, resumes: attempt };
    if (total !== undefined && offset > total) {
      throw new TransientError(
        `download: received ${offset} bytes, more than the ${total} promised`,
      );
    }
  }
  throw new TransientError(
    `download: incomplete after ${maxResumes} resumes (${offset} of ${total ?? '?'} bytes)`,
    {
      cause: lastError,
    },
  );
}
