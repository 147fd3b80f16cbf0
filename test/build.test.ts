import { execFile } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import { DIST_CONDITION } from '@fsx/launcher';
import { describe, expect, it } from 'vitest';

// test/build-setup.ts has built the workspace before this file runs.
const ROOT = path.resolve(import.meta.dirname, '..');
const run = promisify(execFile);

const workspacePackages = ['packages', 'apps'].flatMap((group) =>
  readdirSync(path.join(ROOT, group)).map((name) => path.join(ROOT, group, name)),
);
const exported = workspacePackages.flatMap((dir) => {
  const manifest = JSON.parse(readFileSync(path.join(dir, 'package.json'), 'utf8'));
  return Object.entries(manifest.exports ?? {}).map(([subpath, target]) => ({
    name: `${manifest.name}${subpath.slice(1)}`,
    dir,
    target: target as Record<string, string>,
  }));
});

describe('the production build (pnpm build)', () => {
  it.each(exported)(
    '$name exports its built JavaScript under the dist condition',
    ({ dir, target }) => {
      expect(Object.keys(target)).toEqual([DIST_CONDITION, 'default']);
      const source = target.default as string;
      expect(target[DIST_CONDITION]).toBe(
        source.replace(/^\.\/src\//, './dist/').replace(/\.ts$/, '.js'),
      );
      expect(existsSync(path.join(dir, source))).toBe(true);
      expect(existsSync(path.join(dir, target[DIST_CONDITION] as string))).toBe(true);
    },
  );

  // Plain Node cannot load TypeScript: an import that still reached a .ts file (a package
  // without the condition) or a Lua script left out of dist/ fails here.
  it('loads every package and app from dist/ in plain Node, without tsx', async () => {
    const entries = exported
      .filter((e) => !e.name.endsWith('/global-setup'))
      .map((e) => path.join(e.dir, e.target[DIST_CONDITION] as string));
    const { stdout } = await run(
      process.execPath,
      [
        `--conditions=${DIST_CONDITION}`,
        '--input-type=module',
        '-e',
        `for (const entry of ${JSON.stringify(entries)}) await import(entry);
         console.log(import.meta.resolve('@fsx/config'));`,
      ],
      { cwd: path.join(ROOT, 'test'), env: { PATH: process.env.PATH } },
    );
    expect(stdout.trim()).toBe(`file://${ROOT}/packages/config/dist/index.js`);
    expect(entries.length).toBeGreaterThanOrEqual(12);
  }, 60_000);

  it('leaves test files out of dist/ and copies the Lua scripts in', () => {
    for (const dir of workspacePackages) {
      const dist = path.join(dir, 'dist');
      if (!existsSync(dist)) continue;
      const files = readdirSync(dist, { recursive: true }).map(String);
      expect(files.filter((f) => f.endsWith('.test.js'))).toEqual([]);
      const lua = readdirSync(path.join(dir, 'src'), { recursive: true })
        .map(String)
        .filter((f) => f.endsWith('.lua'));
      for (const script of lua) expect(files).toContain(script);
    }
    expect(existsSync(path.join(ROOT, 'packages/rate-limit/dist/gcra.lua'))).toBe(true);
  });
});
