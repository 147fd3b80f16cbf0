export { type Credentials, DEFAULT_CREDENTIAL } from './credentials.js';
export { ConfigError, type ConfigProblem } from './errors.js';
export { loadConfig, loadOrExit, loadSimulatorConfig } from './load.js';
export {
  DEFAULT_WORKER_CONCURRENCY,
  type Env,
  envSchema,
  type FsxConfig,
  SINK_KINDS,
  type SinkKind,
  secretValues,
} from './schema.js';
export {
  SIM_ROLES,
  type SimRole,
  type SimulatorEnvConfig,
  simulatorEnvSchema,
} from './simulator-schema.js';
export { MIB_PER_LOAD_THREAD, sizeBytes } from './size.js';
export { threadPoolSizeFor } from './thread-pool.js';
