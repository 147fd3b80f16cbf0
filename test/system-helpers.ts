import { mkdtemp } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { findFreePort } from '@fsx/testing';
import { request } from 'undici';

export const OUTPUT_DIR = path.resolve(import.meta.dirname, '../test-output');

export async function tempDataDir(name: string): Promise<string> {
  return mkdtemp(path.join(os.tmpdir(), `fsx-${name}-`));
}

export async function http<T = any>(
  method: 'GET' | 'POST' | 'DELETE',
  url: string,
  body?: unknown,
): Promise<{ status: number; json: T }> {
  const response = await request(url, {
    method,
    ...(body !== undefined
      ? { body: JSON.stringify(body), headers: { 'content-type': 'application/json' } }
      : {}),
  });
  const text = await response.body.text();
  return { status: response.statusCode, json: (text ? JSON.parse(text) : undefined) as T };
}

export async function waitForExport(
  intakeUrl: string,
  id: string,
  timeoutMs = 60_000,
  until = ['completed', 'failed', 'cancelled'],
) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const { json } = await http('GET', `${intakeUrl}/v1/exports/${id}`);
    if (until.includes(json.state) || until.includes(json.stage)) return json;
    if (Date.now() > deadline)
      throw new Error(
        `export ${id} still ${json.state}/${json.stage} after ${timeoutMs} ms: ${json.lastError}`,
      );
    await new Promise((r) => setTimeout(r, 100));
  }
}

export { findFreePort };
