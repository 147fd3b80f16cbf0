// `pnpm build`: every package and app's JavaScript into its dist/, for `node --conditions=fsx-dist`.
import path from 'node:path';
import { buildWorkspace } from '@fsx/launcher';

const root = path.resolve(import.meta.dirname, '..');
const started = performance.now();
const built = await buildWorkspace(root);
process.stdout.write(
  `fsx: built ${built.length} packages and apps in ${Math.round(performance.now() - started)} ms\n`,
);
