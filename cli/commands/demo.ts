// `switchyard demo` (`npm run demo`): the story of Switchyard told on the local stack, through the real
// functions — adopt a service, a blue-green release whose analysis passes, one whose analysis fails,
// a canary through a Gateway API HTTPRoute with a manual promote, a release train of three services
// switched in dependency order and one whose backend fails, and the history. Exit code 0 only
// when every act ended as the story says. A stack already running is used and left running; a stack
// the demo started is brought down at the end unless --keep.
import { Command } from 'commander';
import type { DemoOptions } from './demo/run.ts';

export function demoCommand(): Command {
  return new Command('demo')
    .description(
      'tell the story on the local stack: adopt a service, blue-green with passing then failing analysis, a canary through an HTTPRoute, a release train, history',
    )
    .option(
      '--keep',
      'leave the stack running afterwards (a stack that was already running is always left running)',
    )
    .option(
      '--stack-dir <dir>',
      'folder of the stack state (default: .switchyard/stack, or $SWITCHYARD_STACK_DIR); a stack running there is used',
    )
    .action(async (opts: DemoOptions) => {
      // The stack and the acts are loaded when the demo runs, not by `switchyard --help`.
      const { runDemo } = await import('./demo/run.ts');
      await runDemo(opts);
    });
}
