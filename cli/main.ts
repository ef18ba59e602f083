// The `switchyard` command line.
import { Command } from 'commander';
import { demoCommand } from './commands/demo.ts';
import { devCommand } from './commands/dev.ts';

const program = new Command('switchyard')
  .description('Serverless blue-green and canary releases for Google Kubernetes Engine')
  .version('0.1.0')
  .showHelpAfterError()
  .addCommand(devCommand())
  .addCommand(demoCommand());

try {
  await program.parseAsync(process.argv);
} catch (err) {
  process.stderr.write(`switchyard: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exitCode = 1;
}
