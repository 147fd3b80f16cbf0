import type { ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { createWriteStream, type WriteStream } from 'node:fs';
import { createInterface } from 'node:readline';
import { spawnTiedToParent } from '@fsx/testing';
import { DIST_CONDITION } from './build.js';

export interface ChildSpec {
  name: string;
  /** An entry point: TypeScript, run with tsx, or built JavaScript (see buildWorkspace). */
  entry: string;
  env: Record<string, string>;
  /** A line on stdout that means "ready" (a regex source), or none to consider it ready at once. */
  readyPattern?: RegExp;
}

export type Output = { kind: 'inherit'; prefix: boolean } | { kind: 'file'; path: string };

/** One supervised process of the system: start, wait for ready, kill, restart. */
export class ManagedProcess {
  private child: ChildProcess | undefined;
  private sink: WriteStream | undefined;
  /** Set once it exits on its own (not through stop/kill). */
  onUnexpectedExit: ((code: number | null, signal: NodeJS.Signals | null) => void) | undefined;
  private expectingExit = false;
  lastMatch: RegExpExecArray | undefined;

  constructor(
    readonly spec: ChildSpec,
    private readonly output: Output,
  ) {}

  get pid(): number | undefined {
    return this.child?.pid;
  }

  get running(): boolean {
    return (
      this.child !== undefined && this.child.exitCode === null && this.child.signalCode === null
    );
  }

  async start(timeoutMs = 30_000): Promise<void> {
    this.expectingExit = false;
    const loader = this.spec.entry.endsWith('.ts')
      ? ['--import', 'tsx']
      : [`--conditions=${DIST_CONDITION}`];
    const child = spawnTiedToParent(process.execPath, [...loader, this.spec.entry], {
      env: { ...process.env, ...this.spec.env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    this.child = child;
    if (this.output.kind === 'file')
      this.sink ??= createWriteStream(this.output.path, { flags: 'a' });
    let resolveReady: (() => void) | undefined;
    const ready = new Promise<void>((resolve) => {
      resolveReady = resolve;
    });
    const onLine = (line: string, stream: 'out' | 'err') => {
      if (this.output.kind === 'file') this.sink?.write(`${line}\n`);
      else if (this.output.prefix)
        (stream === 'out' ? process.stdout : process.stderr).write(`[${this.spec.name}] ${line}\n`);
      else (stream === 'out' ? process.stdout : process.stderr).write(`${line}\n`);
      const match = this.spec.readyPattern?.exec(line);
      if (match) {
        this.lastMatch = match;
        resolveReady?.();
      }
    };
    createInterface({ input: child.stdout }).on('line', (l) => onLine(l, 'out'));
    createInterface({ input: child.stderr }).on('line', (l) => onLine(l, 'err'));
    const exited = once(child, 'exit').then(([code, signal]) => {
      if (!this.expectingExit)
        this.onUnexpectedExit?.(code as number | null, signal as NodeJS.Signals | null);
      throw new Error(
        `${this.spec.name} exited (code ${code}, signal ${signal}) before it was ready`,
      );
    });
    exited.catch(() => {});
    if (!this.spec.readyPattern) return;
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(
        () => reject(new Error(`${this.spec.name} not ready within ${timeoutMs} ms`)),
        timeoutMs,
      );
    });
    try {
      await Promise.race([ready, exited, timeout]);
    } finally {
      clearTimeout(timer);
    }
  }

  /** SIGKILL, as a crash would: no cleanup, in-flight jobs left to stall. */
  async kill(): Promise<void> {
    await this.signal('SIGKILL');
  }

  /** SIGTERM and wait: the graceful path. */
  async stop(): Promise<void> {
    await this.signal('SIGTERM');
    this.sink?.end();
    this.sink = undefined;
  }

  private async signal(signal: NodeJS.Signals): Promise<void> {
    const child = this.child;
    if (!child || !this.running) return;
    this.expectingExit = true;
    const exited = once(child, 'exit');
    child.kill(signal);
    await exited;
  }
}
