import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { describe, expect, it } from 'vitest';
import { eventually } from './eventually.js';

const alive = (pid: number) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

// A parent that spawns a long sleeper both ways, prints the two pids, then waits to be killed.
const PARENT = `
import { spawn } from 'node:child_process';
import { spawnTiedToParent } from ${JSON.stringify(new URL('./tied-spawn.ts', import.meta.url).pathname)};
const sleeper = ['-e', 'setTimeout(() => {}, 600000)'];
const tied = spawnTiedToParent(process.execPath, sleeper, { stdio: 'ignore' });
const plain = spawn(process.execPath, sleeper, { stdio: 'ignore', detached: true });
plain.unref();
process.stdout.write(JSON.stringify({ tied: tied.pid, plain: plain.pid }) + '\\n');
setInterval(() => {}, 1000);
`;

describe.skipIf(process.platform !== 'linux')('spawnTiedToParent', () => {
  it('takes the child down with a parent killed by SIGKILL, where a plain spawn outlives it', async () => {
    const parent = spawn(
      process.execPath,
      ['--import', 'tsx', '--input-type=module', '-e', PARENT],
      {
        stdio: ['ignore', 'pipe', 'inherit'],
      },
    );
    const [line] = (await once(parent.stdout, 'data')) as [Buffer];
    const pids = JSON.parse(line.toString()) as { tied: number; plain: number };
    try {
      expect(alive(pids.tied) && alive(pids.plain)).toBe(true);
      parent.kill('SIGKILL');
      await once(parent, 'exit');
      await eventually(async () => (alive(pids.tied) ? undefined : true), 5_000);
      expect(alive(pids.plain)).toBe(true);
    } finally {
      for (const pid of [pids.tied, pids.plain]) if (alive(pid)) process.kill(pid, 'SIGKILL');
    }
  });
});
