import type { z } from 'zod';

/** One environment variable that failed validation. */
export interface ConfigProblem {
  variable: string;
  message: string;
}

/** Thrown when the environment does not describe a runnable fsx. Lists every problem at once. */
export class ConfigError extends Error {
  readonly code = 'fsx.config_invalid';
  readonly problems: ConfigProblem[];

  constructor(problems: ConfigProblem[], options?: { cause?: unknown }) {
    super(
      `Invalid configuration:\n${problems.map((p) => `  - ${p.variable}: ${p.message}`).join('\n')}`,
      options,
    );
    this.name = 'ConfigError';
    this.problems = problems;
  }

  static fromZod(error: z.ZodError): ConfigError {
    const problems = error.issues.map((issue) => ({
      variable: issue.path.map(String).join('.') || '(environment)',
      message: issue.message,
    }));
    return new ConfigError(problems, { cause: error });
  }
}
