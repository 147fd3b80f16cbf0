import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { call } from './sim-test-helpers.js';

const main = path.join(import.meta.dirname, 'main.ts');
const children: ChildProcess[] = [];
afterAll(() => {
  for (const child of children) child.kill('SIGKILL');
});

function run(env: Record<string, string>) {
  const child = spawn(process.execPath, ['--import', 'tsx', main], {
    env: { ...process.env, LOG_LEVEL: 'warn', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  children.push(child);
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d) => (stdout += d));
  child.stderr.on('data', (d) => (stderr += d));
  return { child, out: () => stdout, err: () => stderr };
}

describe('standalone simulator', () => {
  it('reads its environment contract, prints its URL and stops on SIGTERM', async () => {
    const sim = run({
      PORT: '0',
      SIM_API_KEYS: 'eu1.k:architect',
      SIM_QUOTA_BURST: '2',
      SIM_OPERATION_SECONDS: '0',
    });
    const deadline = Date.now() + 15_000;
    while (!/listening at (http:\S+)/.test(sim.out()) && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 50));
    }
    const url = /listening at (http:\S+)/.exec(sim.out())?.[1] as string;
    expect(url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    expect((await call(url, 'GET', '/segments/v1/everyone', { key: 'eu1.k' })).status).toBe(200);
    expect((await call(url, 'GET', '/segments/v1/everyone', { key: 'eu1.k' })).status).toBe(200);
    expect((await call(url, 'GET', '/segments/v1/everyone', { key: 'eu1.k' })).status).toBe(429);
    sim.child.kill('SIGTERM');
    const [code] = await once(sim.child, 'exit');
    expect(code).toBe(0);
  });

  it('exits 1 naming a bad variable', async () => {
    const sim = run({ PORT: '0', SIM_FAULT_RESET_RATE: 'often' });
    const [code] = await once(sim.child, 'exit');
    expect(code).toBe(1);
    expect(sim.err()).toContain('SIM_FAULT_RESET_RATE: must be a number');
  });
});
