// The `switchyard` program: every command, the global --project option, help with examples and exit
// codes (cli/help.ts), and one place that turns any failure into a message and an exit code.
import { Command, CommanderError } from 'commander';
import { explainFailure } from './backend.ts';
import { controlCommandsFor } from './commands/control.ts';
import { demoCommand } from './commands/demo.ts';
import { devCommand } from './commands/dev.ts';
import { getCommand } from './commands/get.ts';
import { historyCommand, listCommand } from './commands/history.ts';
import { pushCommand } from './commands/push.ts';
import { applyCommand, targetsCommand, templatesCommand, validateCommand } from './commands/targets.ts';
import { trainCommand } from './commands/train.ts';
import { watchCommand } from './commands/watch.ts';
import { exitCodes } from './exit-codes.ts';
import { allCommands, applyHelp, commandName } from './help.ts';
import { applyEnvironment } from './stack-env.ts';

/** The whole command tree, ready to parse (used by main.ts, and by documentation generators). */
export function buildProgram(): Command {
  const program = new Command('switchyard')
    .description(
      'Serverless blue-green and canary releases for Google Kubernetes Engine. With no project named, commands use the local stack of `switchyard dev up`.',
    )
    .option(
      '--project <id>',
      'Google Cloud project, with Application Default Credentials (default: $GOOGLE_CLOUD_PROJECT, else the local dev stack)',
    )
    .version('0.1.0')
    .hook('preAction', (root) => {
      applyEnvironment(root.opts<{ project?: string }>().project);
    })
    .addCommand(applyCommand())
    .addCommand(validateCommand())
    .addCommand(targetsCommand())
    .addCommand(templatesCommand())
    .addCommand(getCommand())
    .addCommand(listCommand())
    .addCommand(historyCommand())
    .addCommand(watchCommand())
    .addCommand(trainCommand())
    .addCommand(pushCommand());
  for (const command of controlCommandsFor()) program.addCommand(command);
  program.addCommand(devCommand()).addCommand(demoCommand());
  // Commands added with addCommand() do not inherit settings: set them on each.
  for (const cmd of [program, ...allCommands(program)]) {
    cmd.exitOverride().showHelpAfterError('(add --help for usage, examples and exit codes)');
  }
  applyHelp(program);
  return program;
}

/** Runs the CLI on `argv` and returns the exit code; errors are printed with what to do. */
export async function run(argv: string[]): Promise<number> {
  const program = buildProgram();
  let running = '';
  program.hook('preAction', (_root, action) => {
    running = commandName(action);
  });
  // Google's client libraries reject some internal promises nobody awaits (e.g. when there are no
  // credentials) besides the one the command awaits; the command reports the failure once.
  let stray: unknown;
  process.on('unhandledRejection', (err) => {
    stray ??= err;
  });
  try {
    await program.parseAsync(argv);
    if (stray !== undefined) throw stray;
    return Number(process.exitCode ?? exitCodes.ok);
  } catch (err) {
    if (err instanceof CommanderError) {
      // Commander printed the problem (or the help) already.
      if (err.code === 'commander.helpDisplayed' || err.code === 'commander.version') return exitCodes.ok;
      return err.exitCode === 0 ? exitCodes.ok : exitCodes.invalidInput;
    }
    const failure = explainFailure(err);
    process.stderr.write(`switchyard${running ? ` ${running}` : ''}: ${failure.message}\n`);
    return failure.exitCode;
  }
}
