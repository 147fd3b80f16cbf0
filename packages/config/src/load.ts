import type { z } from 'zod';
import { ConfigError } from './errors.js';
import { configSchema, type FsxConfig } from './schema.js';
import { type SimulatorEnvConfig, simulatorEnvSchema } from './simulator-schema.js';

type Environment = Record<string, string | undefined>;

function parseWith<S extends z.ZodType>(schema: S, env: Environment): z.output<S> {
  // Empty strings mean "unset": `FOO= pnpm start` should fall back to the default, not fail.
  const present = Object.fromEntries(
    Object.entries(env).filter(([, v]) => v !== undefined && v !== ''),
  );
  const result = schema.safeParse(present);
  if (!result.success) throw ConfigError.fromZod(result.error);
  return result.data;
}

/** Parses and validates fsx's configuration. Throws {@link ConfigError} naming every bad variable. */
export function loadConfig(env: Environment = process.env): FsxConfig {
  return parseWith(configSchema, env);
}

export function loadSimulatorConfig(env: Environment = process.env): SimulatorEnvConfig {
  return parseWith(simulatorEnvSchema, env);
}

/** For `main` functions: a bad environment prints what is wrong and exits 1, never a stack trace. */
export function loadOrExit<T>(load: () => T): T {
  try {
    return load();
  } catch (error) {
    if (error instanceof ConfigError) {
      process.stderr.write(`${error.message}\n`);
      process.exit(1);
    }
    throw error;
  }
}
