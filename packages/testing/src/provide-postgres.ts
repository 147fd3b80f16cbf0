import { existsSync } from 'node:fs';
import { PostgresUnavailableError, startPostgresServer } from './local-postgres.js';

export interface ProvidedPostgres {
  url: string;
  source: 'DATABASE_URL' | 'testcontainers' | 'local server';
  stop(): Promise<void>;
}

const HOW_TO_GET_POSTGRES = [
  'Tests need a real PostgreSQL. Any one of these works:',
  '  - set DATABASE_URL=postgres://user@host:port/db',
  '  - install the server (Debian/Ubuntu: apt-get install postgresql)',
  '  - run a Docker engine, so testcontainers can start postgres:15',
].join('\n');

/** A real PostgreSQL for the test run, found the same way as Redis (see provideRedis). */
export async function providePostgres(
  env: Record<string, string | undefined> = process.env,
): Promise<ProvidedPostgres> {
  if (env.DATABASE_URL)
    return { url: env.DATABASE_URL, source: 'DATABASE_URL', stop: async () => {} };
  if (env.DOCKER_HOST || existsSync('/var/run/docker.sock')) {
    try {
      const { PostgreSqlContainer } = await import('@testcontainers/postgresql');
      const container = await new PostgreSqlContainer('postgres:15').start();
      return {
        url: container.getConnectionUri(),
        source: 'testcontainers',
        stop: async () => void (await container.stop()),
      };
    } catch {
      // no engine after all: fall through to a local server
    }
  }
  try {
    const server = await startPostgresServer();
    return { url: server.url, source: 'local server', stop: () => server.stop() };
  } catch (error) {
    throw new PostgresUnavailableError(HOW_TO_GET_POSTGRES, { cause: error });
  }
}
