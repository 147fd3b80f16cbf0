import { Command, Option } from 'commander';
import { cancelExport, listSchedules, listSegments, showStatus, startExport } from './commands.js';
import { CliError, IntakeClient } from './intake-client.js';

const program = new Command('fsx')
  .description('Start and follow FullStory exports through a running fsx')
  .addOption(
    new Option('--url <url>', 'fsx intake API').env('FSX_URL').default('http://127.0.0.1:3000'),
  )
  .addOption(
    new Option('--token <token>', 'API token (INTAKE_API_TOKENS on the server)').env('FSX_TOKEN'),
  )
  .showHelpAfterError();

const api = () => {
  const { url, token } = program.opts<{ url: string; token?: string }>();
  return new IntakeClient({ url, ...(token ? { token } : {}) });
};

const run = (action: () => Promise<number>) => async () => {
  try {
    process.exitCode = await action();
  } catch (error) {
    process.stderr.write(`fsx: ${error instanceof CliError ? error.message : String(error)}\n`);
    process.exitCode = 1;
  }
};

program
  .command('export')
  .description('start an export (and with --wait, follow it to the end)')
  .requiredOption('--segment <id>', 'FullStory segment id, e.g. everyone')
  .addOption(
    new Option('--type <type>', 'what to export')
      .choices(['events', 'individuals'])
      .default('events'),
  )
  .addOption(
    new Option('--format <format>', 'file format')
      .choices(['json', 'ndjson', 'csv'])
      .default('ndjson'),
  )
  .option('--since <date>', 'start of the time range (2026-11-01 or a timestamp)')
  .option('--until <date>', 'end of the time range, exclusive (default: now)')
  .option('--sink <sink>', 'duckdb, postgres or files (default: the server default)')
  .option('--credential <name>', 'which configured FullStory key to use')
  .option('--split-by <duration>', 'a backfill: one export per window of this length (1d, 6h)')
  .option('--wait', 'follow the export with a progress bar until it ends')
  .action(async (options) => run(() => startExport(api(), options))());

program
  .command('status [id]')
  .description('one export, or the latest 20')
  .action(async (id?: string) => run(() => showStatus(api(), id))());

program
  .command('cancel <id>')
  .description('cancel an export (a backfill with all its windows)')
  .action(async (id: string) => run(() => cancelExport(api(), id))());

program
  .command('segments')
  .description("list FullStory's segments (spends quota tokens: one per 100 segments)")
  .option('--credential <name>', 'which configured FullStory key to use')
  .action(async (options: { credential?: string }) =>
    run(() => listSegments(api(), options.credential))(),
  );

program
  .command('schedules')
  .description('recurring exports and how far each has got')
  .action(async () => run(() => listSchedules(api()))());

await program.parseAsync(process.argv);
