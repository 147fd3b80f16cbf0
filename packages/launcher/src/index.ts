export { buildScript, buildWorkspace, DIST_CONDITION } from './build.js';
export { type ChildSpec, ManagedProcess } from './child.js';
export { DEMO_API_KEY, type LaunchedSystem, type LaunchOptions, launchSystem } from './system.js';
