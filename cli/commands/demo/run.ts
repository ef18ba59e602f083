// Runs `switchyard demo` (cli/commands/demo.ts defines the command): brings up the local stack when
// none runs, clears an earlier run, tells the acts, prints the summary, and brings down a stack it
// started unless --keep.
import { resolve } from 'node:path';
import { defaultStateDir, firebasePorts, LocalStack, type StackStatus } from '../../../infra/local/stack.ts';
import { adopt, releaseV2, releaseV3 } from './blue-green.ts';
import { canary } from './canary.ts';
import { closeContext, type DemoContext, openContext, resetDemo } from './context.ts';
import { history } from './history.ts';
import { type Act, type ActResult, runActs, shown, summary, type Write } from './report.ts';
import { trainBackendFails, trainInOrder, trainMembers } from './train.ts';

const acts: Act<DemoContext>[] = [
  adopt,
  releaseV2,
  releaseV3,
  canary,
  trainInOrder,
  trainBackendFails,
  history,
];

const allRunning = (s: StackStatus) => Object.values(s.parts).every((p) => p.state === 'running');
const anyRunning = (s: StackStatus) => Object.values(s.parts).some((p) => p.state === 'running');

/** How to go on with a stack left running. */
function keepHints(stateDir: string, write: Write): void {
  const isDefault = stateDir === resolve(defaultStateDir());
  const env = isDefault ? '' : `SWITCHYARD_STACK_DIR=${shown(stateDir)} `;
  write('');
  write(`The stack keeps running (state in ${shown(stateDir)}). Try:`);
  write(`  ${env}switchyard get api          # revisions, replicas ready, active and preview`);
  write(`  ${env}switchyard history web      # the canary's steps and the promote`);
  write(`  ${env}switchyard dev status       # the parts and how to point kubectl and clients at them`);
  write(`  switchyard dev down${isDefault ? '' : ` --state-dir ${shown(stateDir)}`}   # stop it`);
}

export interface DemoOptions {
  keep?: boolean;
  stackDir?: string;
}

export async function runDemo(opts: DemoOptions): Promise<void> {
  process.env.METADATA_SERVER_DETECTION ??= 'none'; // no Google metadata server on the local stack
  const write: Write = (line) => process.stdout.write(`${line}\n`);
  const stateDir = resolve(opts.stackDir ?? defaultStateDir());
  const stack = new LocalStack({
    stateDir,
    preferredPorts: firebasePorts(),
    log: (m) => write(`    ${m}`),
  });
  const started = Date.now();
  write('Switchyard demo: releases through the real functions on a local stack of real parts');

  const before = await stack.status();
  // Only a stack the demo starts from nothing is the demo's to bring down.
  const ours = !anyRunning(before);
  let bringDown = ours && !opts.keep;
  const onInterrupt = () => {
    write('\nInterrupted.');
    const stop = bringDown ? stack.down() : Promise.resolve();
    void stop.finally(() => process.exit(130));
  };
  process.once('SIGINT', onInterrupt);

  let results: ActResult[] = [];
  let problem: string | null = null;
  try {
    let status = before;
    if (allRunning(before)) {
      write(`  ✔ using the local stack running in ${shown(stateDir)} (it stays up afterwards)`);
    } else {
      write(
        `  ▸ starting the local stack in ${shown(stateDir)} (the first run builds Kubernetes from source; later runs take seconds)`,
      );
      const t0 = Date.now();
      status = await stack.up();
      write(`  ✔ local stack up in ${((Date.now() - t0) / 1000).toFixed(1)} s`);
    }
    const ctx = openContext(status, stack);
    try {
      await resetDemo(ctx, ['api', 'web', ...trainMembers]);
      write(
        `  ✔ namespace demo and the targets api, web, ${trainMembers.join(', ')} start empty (an earlier run is cleared)`,
      );
      results = await runActs(ctx, acts, write);
    } finally {
      await closeContext(ctx);
    }
  } catch (err) {
    problem = err instanceof Error ? err.message : String(err);
    write(`  ✖ ${problem}`);
  } finally {
    process.removeListener('SIGINT', onInterrupt);
    write('');
    if (bringDown) {
      write(`Stopping the local stack (${shown(stateDir)}); \`switchyard demo --keep\` leaves it up.`);
      await stack.down();
      bringDown = false;
    } else {
      keepHints(stateDir, write);
    }
  }
  write('');
  if (results.length > 0) {
    for (const line of summary(results, (Date.now() - started) / 1000)) write(line);
  }
  const passed =
    problem === null && results.length === acts.length && results.every((r) => r.status === 'passed');
  if (!passed) {
    if (problem) write(`The demo could not run: ${problem}`);
    write(`Logs of the stack and the functions: ${shown(stateDir)}/logs`);
    process.exitCode = 1;
  }
}
