import path from 'node:path';
import { buildWorkspace } from '@fsx/launcher';

/**
 * Vitest global setup: builds every app once, before any test file runs, so the system tests
 * start the processes as production does (`launchSystem({ built: true })`) and no two test files
 * rebuild a dist/ another one's processes are running from.
 */
export default async function setup() {
  await buildWorkspace(path.resolve(import.meta.dirname, '..'));
}
