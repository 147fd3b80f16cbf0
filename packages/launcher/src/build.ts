import { copyFile, mkdir, readdir, rename, rm } from 'node:fs/promises';
import path from 'node:path';
import { build } from 'esbuild';

/**
 * The package.json condition under which each workspace package's `exports` name its built
 * JavaScript instead of its TypeScript: `node --conditions=fsx-dist`. Without it (tests, tsx,
 * tsc) the TypeScript is what resolves, so nothing but a production start needs a build.
 */
export const DIST_CONDITION = 'fsx-dist';

/** What fsx's JavaScript runs on: ES modules on Node 20. */
const NODE_ESM = { format: 'esm', platform: 'node', target: 'node20', logLevel: 'error' } as const;

/** Builds one TypeScript script outside the workspace's packages (a benchmark's child) into `outfile`. */
export async function buildScript(entry: string, outfile: string): Promise<void> {
  await build({ ...NODE_ESM, entryPoints: [entry], outfile });
}

/** The workspace's packages and apps: every folder under `packages/` and `apps/` with a `src/`. */
async function workspaceSources(root: string): Promise<string[]> {
  const found: string[] = [];
  for (const group of ['packages', 'apps']) {
    for (const entry of await readdir(path.join(root, group), { withFileTypes: true })) {
      const dir = path.join(root, group, entry.name);
      if (entry.isDirectory() && (await readdir(dir)).includes('src')) found.push(dir);
    }
  }
  return found;
}

/**
 * Builds every workspace package and app into its `dist/`, one JavaScript file per TypeScript
 * file (esbuild, no bundling: each package's dependencies still resolve from its own
 * node_modules), with the files read beside the code (the Lua scripts) copied along. No type
 * check: `pnpm typecheck` does that. Returns the packages built.
 *
 * Why: run through tsx, each process carries tsx's loader thread, 25–33 MB of peak RSS in a
 * PostgreSQL load of 1M rows (BENCHMARKS.md), and transpiles at every start.
 */
export async function buildWorkspace(root: string): Promise<string[]> {
  const packages = await workspaceSources(root);
  await Promise.all(packages.map(buildPackage));
  return packages;
}

async function buildPackage(dir: string): Promise<void> {
  const src = path.join(dir, 'src');
  const dist = path.join(dir, 'dist');
  const files = (await readdir(src, { recursive: true, withFileTypes: true }))
    .filter((e) => e.isFile())
    .map((e) => path.join(e.parentPath, e.name))
    .filter((file) => !file.includes(`${path.sep}fixtures${path.sep}`));
  const code = files.filter((f) => f.endsWith('.ts') && !f.endsWith('.test.ts'));
  const assets = files.filter((f) => f.endsWith('.lua'));
  // Built beside, then swapped in: processes of another copy of fsx may be running from dist/.
  const fresh = `${dist}.${process.pid}.new`;
  await rm(fresh, { recursive: true, force: true });
  await build({ ...NODE_ESM, entryPoints: code, outdir: fresh, outbase: src, sourcemap: true });
  for (const asset of assets) {
    const target = path.join(fresh, path.relative(src, asset));
    await mkdir(path.dirname(target), { recursive: true });
    await copyFile(asset, target);
  }
  const old = `${dist}.${process.pid}.old`;
  await rename(dist, old).catch(() => undefined);
  await rename(fresh, dist);
  await rm(old, { recursive: true, force: true });
}
