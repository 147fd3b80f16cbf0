import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { mkdtemp } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { generateExportFile } from '@fsx/fullstory-sim';
import type {} from '@fsx/testing';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { DuckDbSink, PostgresSink } from './index.js';

// A worker killed (-9) after it wrote an export's new rows and before it committed them: the
// sink must still hold the previous load of that export, whole, and load again afterwards.
const REPO = path.resolve(import.meta.dirname, '../../..');
const CHILD = path.join(import.meta.dirname, 'fixtures', 'stop-before-commit.ts');

let dir: string;
const schema = `k_${randomBytes(4).toString('hex')}`;
let pg: PostgresSink;
beforeAll(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'fsx-crash-'));
  pg = new PostgresSink({ connectionString: inject('postgresUrl'), schema });
  await pg.query(`CREATE SCHEMA ${schema}`);
});
afterAll(async () => {
  await pg.query(`DROP SCHEMA ${schema} CASCADE`);
  await pg.close();
});

/** Runs the load of `file` in a child process and kills it -9 once it is about to commit. */
async function killBeforeCommit(args: string[]): Promise<NodeJS.Signals | null> {
  const child = spawn(process.execPath, ['--import', 'tsx', CHILD, ...args], {
    cwd: REPO,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stderr = '';
  child.stderr.on('data', (chunk) => {
    stderr += chunk;
  });
  const exited = once(child, 'exit');
  const ready = new Promise<void>((resolve, reject) => {
    child.stdout.on('data', (chunk) => String(chunk).includes('before-commit') && resolve());
    exited.then(() => reject(new Error(`the load exited before COMMIT: ${stderr}`)));
  });
  await ready;
  child.kill('SIGKILL');
  const [, signal] = (await exited) as [number | null, NodeJS.Signals | null];
  return signal;
}

describe.each(['duckdb', 'postgres'] as const)('%s sink, killed before COMMIT', (kind) => {
  it('keeps the previous load of the export whole, and loads again afterwards', async () => {
    const target = kind === 'duckdb' ? path.join(dir, 'crash.duckdb') : inject('postgresUrl');
    const sink = kind === 'duckdb' ? new DuckDbSink({ path: target }) : pg;
    const [before, after] = await Promise.all(
      (['before', 'after'] as const).map((seed, i) =>
        generateExportFile({
          path: path.join(dir, `${kind}-${seed}.ndjson.gz`),
          type: 'events',
          format: 'ndjson',
          rows: 300 + i * 2_700,
          seed,
        }),
      ),
    );
    const file = (seed: string) => path.join(dir, `${kind}-${seed}.ndjson.gz`);
    await sink.load({ exportId: 'crash', kind: 'events', format: 'ndjson', file: file('before') });

    const signal = await killBeforeCommit([
      kind,
      target,
      file('after'),
      'crash',
      ...(kind === 'postgres' ? [schema] : []),
    ]);
    expect(signal).toBe('SIGKILL');
    expect(await sink.digest('events', 'crash')).toEqual({ count: 300, hash: before?.hash });

    await sink.load({ exportId: 'crash', kind: 'events', format: 'ndjson', file: file('after') });
    expect(await sink.digest('events', 'crash')).toEqual({ count: 3_000, hash: after?.hash });
  }, 60_000);
});
