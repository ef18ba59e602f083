// `switchyard dev up|down|status`: the local stack of real parts (LOCAL-STACK.md).
import { Command, Option } from 'commander';
import { stackEnv } from '../../infra/local/env.ts';
import type { LocalStack, StackStatus } from '../../infra/local/stack.ts';
import { exitCodes } from '../exit-codes.ts';
import { type OutputFormat, outputOption, parseOutputFormat, print } from '../output.ts';

function describe(status: StackStatus): string {
  const lines = [`project     ${status.projectId}`, `state dir   ${status.stateDir}`, ''];
  for (const [name, part] of Object.entries(status.parts)) {
    lines.push(`${name.padEnd(11)} ${part.state}${part.detail ? ` (${part.detail})` : ''}`);
  }
  lines.push('', 'Point clients at the stack with:');
  for (const line of exports(status)) lines.push(`  ${line}`);
  return lines.join('\n');
}

/** Shell lines that point clients at the stack; kubectl comes last on PATH, after the user's own. */
function exports(status: StackStatus): string[] {
  const lines = Object.entries(stackEnv(status)).map(([k, v]) => `export ${k}=${v}`);
  if (status.kubeBinDir) lines.push(`export PATH="$PATH:${status.kubeBinDir}"`);
  return lines;
}

export function devCommand(): Command {
  const dev = new Command('dev')
    .description(
      'run the local stack: Firestore and Pub/Sub emulators, Kubernetes with kwok nodes, Prometheus, functions',
    )
    .option(
      '--state-dir <dir>',
      'folder of the stack state (default: .switchyard/stack, or $SWITCHYARD_STACK_DIR)',
    );
  // The stack's parts are loaded by these commands only, not by `switchyard --help`.
  const stackOf = async (cmd: Command): Promise<LocalStack> => {
    const { firebasePorts, LocalStack } = await import('../../infra/local/stack.ts');
    return new LocalStack({ stateDir: cmd.optsWithGlobals().stateDir, preferredPorts: firebasePorts() });
  };

  dev
    .command('up')
    .description(
      'start every part that is not running; harmless when the stack is up, recovers after a crash',
    )
    .addOption(outputOption())
    .action(async (opts: { output: OutputFormat }, cmd: Command) => {
      const status = await (await stackOf(cmd)).up();
      print(opts.output, status, describe);
      if (Object.values(status.parts).some((p) => p.state !== 'running'))
        process.exitCode = exitCodes.failure;
    });

  dev
    .command('down')
    .description('stop every part of the local stack; leaves no process behind')
    .action(async (_opts: unknown, cmd: Command) => {
      await (await stackOf(cmd)).down();
    });

  dev
    .command('status')
    .description(
      'show the parts of the local stack and how to reach them; exit code 0 only when all parts run',
    )
    .addOption(
      new Option('-o, --output <format>', 'json, yaml, text, or env (shell exports)')
        .default('text')
        .argParser((v: string) => (v === 'env' ? v : parseOutputFormat(v))),
    )
    .action(async (opts: { output: OutputFormat | 'env' }, cmd: Command) => {
      const status = await (await stackOf(cmd)).status();
      if (opts.output === 'env') {
        for (const line of exports(status)) process.stdout.write(`${line}\n`);
      } else {
        print(opts.output, status, describe);
      }
      if (Object.values(status.parts).some((p) => p.state !== 'running'))
        process.exitCode = exitCodes.failure;
    });
  return dev;
}
