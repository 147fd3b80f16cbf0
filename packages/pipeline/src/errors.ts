/** A stage asks to be run again later: no token free, FullStory's Retry-After, or the next poll. */
export class WaitSignal extends Error {
  readonly code = 'pipeline.wait';
  constructor(
    readonly delayMs: number,
    readonly reason: string,
  ) {
    super(`waiting ${delayMs} ms: ${reason}`);
  }
}

/** The export cannot succeed (bad request, forbidden key, FullStory gave up): fail it now. */
export class ExportFailedError extends Error {
  readonly code = 'pipeline.export_failed';
  constructor(message: string, options: { cause?: unknown } = {}) {
    super(message, options);
    this.name = 'ExportFailedError';
  }
}

/** A credential named in an export is not in this process's configuration. */
export class UnknownCredentialError extends ExportFailedError {
  constructor(name: string) {
    super(
      `credential "${name}" is not configured (set FULLSTORY_API_KEY or FULLSTORY_CREDENTIALS)`,
    );
  }
}
