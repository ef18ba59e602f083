// The `switchyard` command line.
import { Command } from 'commander';
import { demoCommand } from './commands/demo.ts';
import { devCommand } from './commands/dev.ts';
import {
  controlCommandsFor,
  getCommand,
  historyCommand,
  listCommand,
  pushCommand,
  watchCommand,
} from './commands/releases.ts';
import { applyCommand, targetsCommand, templatesCommand, validateCommand } from './commands/targets.ts';
import { useLocalStackWhenUnset } from './stack-env.ts';

const program = new Command('switchyard')
  .option('--project <id>', 'Google Cloud project (default: $GOOGLE_CLOUD_PROJECT, else the local dev stack)')
  .hook('preAction', (cmd) => {
    const project = cmd.opts<{ project?: string }>().project;
    if (project) process.env.GOOGLE_CLOUD_PROJECT = project;
    useLocalStackWhenUnset();
  })
  .description('Serverless blue-green and canary releases for Google Kubernetes Engine')
  .version('0.1.0')
  .showHelpAfterError()
  .addCommand(applyCommand())
  .addCommand(validateCommand())
  .addCommand(targetsCommand())
  .addCommand(templatesCommand())
  .addCommand(getCommand())
  .addCommand(listCommand())
  .addCommand(historyCommand())
  .addCommand(watchCommand())
  .addCommand(pushCommand());
for (const command of controlCommandsFor()) program.addCommand(command);
program.addCommand(devCommand()).addCommand(demoCommand());

try {
  await program.parseAsync(process.argv);
} catch (err) {
  process.stderr.write(`switchyard: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exitCode = 1;
}
