// `pnpm start`: the whole of fsx on this machine, as separate processes; Ctrl-C stops it all.
import path from 'node:path';
import { buildWorkspace, launchSystem } from '@fsx/launcher';

const pretty = process.stdout.isTTY ? { PRETTY_LOGS: 'true' } : {};
process.stdout.write(
  'fsx: building, then starting Redis, the intake API and the five stage workers…\n',
);
// The processes run their built JavaScript, as in production: no tsx loader in each of them.
const system = await buildWorkspace(path.resolve(import.meta.dirname, '..'))
  .then(() => launchSystem({ env: { ...process.env, ...pretty }, built: true }))
  .catch((error: unknown) => {
    process.stderr.write(
      `fsx: could not start: ${error instanceof Error ? error.message : String(error)}\n`,
    );
    process.exit(1);
  });

const demo = system.simulatorUrl
  ? `\n  Demo mode: no FULLSTORY_API_KEY, so fsx talks to its FullStory simulator at ${system.simulatorUrl}`
  : '';
const since = new Date(Date.now() - 86_400_000).toISOString().slice(0, 10);
process.stdout.write(`
fsx is running.${demo}
  API          ${system.intakeUrl}/v1/exports
  API docs     ${system.intakeUrl}/docs
  Bull Board   ${system.intakeUrl}/admin/queues
  Redis        ${system.redisUrl}
  DuckDB       ${system.dataDir}/fsx.duckdb

Start an export:
  curl -s -X POST ${system.intakeUrl}/v1/exports -H 'content-type: application/json' \\
    -d '{"segmentId":"everyone","type":"events","format":"ndjson","timeRange":{"start":"${since}T00:00:00Z","end":"${new Date().toISOString().slice(0, 10)}T00:00:00Z"}}'
Then follow it at ${system.intakeUrl}/v1/exports/<id>. Ctrl-C stops everything.
`);

let stopping = false;
const stop = async (code: number) => {
  if (stopping) return;
  stopping = true;
  process.stdout.write('\nfsx: stopping…\n');
  await system.stop();
  process.exit(code);
};
system.onUnexpectedExit((name, code) => {
  process.stderr.write(`fsx: ${name} exited unexpectedly (code ${code}); stopping everything\n`);
  void stop(1);
});
process.on('SIGINT', () => void stop(0));
process.on('SIGTERM', () => void stop(0));
