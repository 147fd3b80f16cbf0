import {
  type ChildProcess,
  type ChildProcessByStdio,
  type SpawnOptions,
  type SpawnOptionsWithStdioTuple,
  type StdioNull,
  type StdioPipe,
  spawn,
} from 'node:child_process';
import { existsSync } from 'node:fs';
import type { Readable } from 'node:stream';

const SETPRIV = ['/usr/bin/setpriv', '/bin/setpriv'].find((candidate) => existsSync(candidate));

/** What setpriv exits with when it cannot find the command it was to run. */
export const COMMAND_NOT_FOUND = 127;

/**
 * `spawn`, but the child is sent SIGTERM when this process dies, however it dies. A supervisor
 * killed with SIGKILL, or crashing, would otherwise leave its Redis, API and workers running,
 * holding their ports and the DuckDB file, and the next start would fail on them. Linux only
 * (util-linux's `setpriv --pdeathsig`, which the child keeps across its exec, so its pid is
 * the command's own); elsewhere a plain spawn.
 */
export function spawnTiedToParent(
  command: string,
  args: readonly string[],
  options: SpawnOptionsWithStdioTuple<StdioNull, StdioPipe, StdioPipe>,
): ChildProcessByStdio<null, Readable, Readable>;
export function spawnTiedToParent(
  command: string,
  args: readonly string[],
  options: SpawnOptions,
): ChildProcess;
export function spawnTiedToParent(
  command: string,
  args: readonly string[],
  options: SpawnOptions,
): ChildProcess {
  if (!SETPRIV) return spawn(command, args, options);
  return spawn(SETPRIV, ['--pdeathsig', 'TERM', '--', command, ...args], options);
}
