import { request } from 'undici';

/** A failure the CLI explains to its user and exits non-zero for. */
export class CliError extends Error {}

export interface IntakeClientOptions {
  url: string;
  token?: string;
}

/** The few intake API calls the CLI makes, with errors a person can read. */
export class IntakeClient {
  constructor(private readonly options: IntakeClientOptions) {}

  async call<T>(method: 'GET' | 'POST' | 'DELETE', path: string, body?: unknown): Promise<T> {
    let response: Awaited<ReturnType<typeof request>>;
    try {
      response = await request(`${this.options.url.replace(/\/+$/, '')}${path}`, {
        method,
        headers: {
          ...(this.options.token ? { authorization: `Bearer ${this.options.token}` } : {}),
          ...(body !== undefined ? { 'content-type': 'application/json' } : {}),
        },
        ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
        headersTimeout: 30_000,
      });
    } catch (error) {
      throw new CliError(
        `cannot reach fsx at ${this.options.url} (${(error as Error).message}); is it running? (pnpm start)`,
      );
    }
    const text = await response.body.text();
    const json = text
      ? (JSON.parse(text) as { message?: string; issues?: { path: string; message: string }[] })
      : {};
    if (response.statusCode === 401)
      throw new CliError('fsx refused the token: pass --token or set FSX_TOKEN');
    if (response.statusCode >= 400) {
      const issues = json.issues?.map((i) => `\n  - ${i.path}: ${i.message}`).join('') ?? '';
      throw new CliError(`${json.message ?? `fsx answered ${response.statusCode}`}${issues}`);
    }
    return json as T;
  }
}
