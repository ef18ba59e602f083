// `switchyard dev up|down|status`: the local stack of real parts (LOCAL-STACK.md).
import { Command, Option } from 'commander';
import { firebasePorts, LocalStack, type StackStatus, stackEnv } from '../../infra/local/stack.ts';
import { type OutputFormat, parseOutputFormat, print } from '../output.ts';

function describe(status: StackStatus): string {
  const lines = [`project     ${status.projectId}`, `state dir   ${status.stateDir}`, ''];
  for (const [name, part] of Object.entries(status.parts)) {
    lines.push(`${name.padEnd(11)} ${part.state}${part.detail ? ` (${part.detail})` : ''}`);
  }
  const env = stackEnv(status);
  lines.push('', 'Point clients at the stack with:');
  for (const [k, v] of Object.entries(env)) lines.push(`  export ${k}=${v}`);
  return lines.join('\n');
}

const outputOption = () =>
  new Option('-o, --output <format>', 'json, yaml or text').default('text').argParser(parseOutputFormat);

export function devCommand(): Command {
  const dev = new Command('dev')
    .description(
      'run the local stack: Firestore and Pub/Sub emulators, Kubernetes with kwok nodes, Prometheus, functions',
    )
    .option(
      '--state-dir <dir>',
      'folder of the stack state (default: .switchyard/stack, or $SWITCHYARD_STACK_DIR)',
    );
  const stackOf = (cmd: Command) =>
    new LocalStack({ stateDir: cmd.optsWithGlobals().stateDir, preferredPorts: firebasePorts() });

  dev
    .command('up')
    .description(
      'start every part that is not running; harmless when the stack is up, recovers after a crash',
    )
    .addOption(outputOption())
    .addHelpText('after', '\nExample:\n  switchyard dev up && eval "$(switchyard dev status -o env)"')
    .action(async (opts: { output: OutputFormat }, cmd: Command) => {
      const status = await stackOf(cmd).up();
      print(opts.output, status, describe);
      if (Object.values(status.parts).some((p) => p.state !== 'running')) process.exitCode = 1;
    });

  dev
    .command('down')
    .description('stop every part of the local stack; leaves no process behind')
    .action(async (_opts: unknown, cmd: Command) => {
      await stackOf(cmd).down();
    });

  dev
    .command('status')
    .description('show the parts and how to reach them; exit code 0 only when all parts run')
    .addOption(
      new Option('-o, --output <format>', 'json, yaml, text, or env (shell exports)')
        .default('text')
        .argParser((v: string) => (v === 'env' ? v : parseOutputFormat(v))),
    )
    .addHelpText(
      'after',
      '\nExamples:\n  switchyard dev status -o json\n  eval "$(switchyard dev status -o env)"',
    )
    .action(async (opts: { output: OutputFormat | 'env' }, cmd: Command) => {
      const status = await stackOf(cmd).status();
      if (opts.output === 'env') {
        for (const [k, v] of Object.entries(stackEnv(status))) process.stdout.write(`export ${k}=${v}\n`);
      } else {
        print(opts.output, status, describe);
      }
      if (Object.values(status.parts).some((p) => p.state !== 'running')) process.exitCode = 1;
    });
  return dev;
}
