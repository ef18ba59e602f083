// The control commands (SPEC §6): promote, abort, retry, restart, undo, pause, resume. Each publishes
// a control message naming the target (and optionally the release) with who asked and why, then
// waits for the engine's answer: applied, or refused with the reason and what to do instead.
import { randomUUID } from 'node:crypto';
import { Command, InvalidArgumentError, Option } from 'commander';
import { type ControlCommand, controlCommands, type SignedControlMessage } from '../../shared/messages.ts';
import type { RefusalCode } from '../../shared/refusals.ts';
import { withBackend } from '../backend.ts';
import { publishControl, sendControl } from '../client.ts';
import { CliError, exitCodes, releaseNotFound } from '../exit-codes.ts';
import { callerIdToken, localUser } from '../identity.ts';
import { checkName, requireTarget } from '../lookup.ts';
import { type OutputFormat, outputOption, print } from '../output.ts';

export const controlSummaries: Record<ControlCommand, string> = {
  promote: 'leave a pause (AwaitingPromotion) and go on; with --full skip the remaining steps and analysis',
  abort:
    'stop the release: traffic stays on (or goes back to) the stable revision, the new one is scaled down',
  retry: 'start a Failed, Aborted, RolledBack or Superseded release again',
  restart: 'release the stable image again as a new revision (after a ConfigMap or Secret change)',
  undo: 'go back to the previous revision (fast while it is still warm)',
  pause: 'hold the release where it is',
  resume: 'continue a paused release',
};

/** Who says it asks (the engine records the ID token's verified email instead): $SWITCHYARD_USER, else the local user. */
export function requester(): string {
  return localUser();
}

/**
 * What to do after a refusal, from its code (shared/refusals.ts; pure). An answer recorded before
 * refusals had codes gets the general hint.
 */
export function refusalHint(command: ControlCommand, target: string, code: RefusalCode | undefined): string {
  switch (code) {
    case 'no-release':
      return 'a push starts the first release: `switchyard push <repository>@sha256:… --tag <tag>`';
    case 'ended':
      return command === 'abort' || command === 'promote' || command === 'pause' || command === 'resume'
        ? `the release has ended; \`switchyard history ${target}\` shows how, and a new push or \`switchyard retry ${target}\` starts another`
        : `\`switchyard history ${target}\` shows the releases`;
    case 'wrong-phase':
      return command === 'promote'
        ? `\`switchyard watch ${target}\` follows the release; promote once it is AwaitingPromotion`
        : `\`switchyard get ${target}\` shows where the release is`;
    case 'in-flight':
      return `\`switchyard abort ${target}\` stops the release in flight, \`switchyard watch ${target}\` waits for it`;
    case 'rolling-back':
      return `\`switchyard watch ${target}\` follows the rollback`;
    case 'unauthenticated':
      return 'sign in with `gcloud auth application-default login` (or set GOOGLE_APPLICATION_CREDENTIALS), then send it again';
    case 'forbidden':
      return `\`switchyard targets -o yaml\` shows the spec.access of ${target}; ask one of those it names`;
    case 'not-found':
      return '`switchyard targets` lists the targets, `switchyard history <target>` their releases';
    default:
      return `\`switchyard get ${target}\` shows where the release is`;
  }
}

interface ControlOptions {
  release?: string;
  reason?: string;
  wait: boolean;
  full?: boolean;
  timeout: number;
  output: OutputFormat;
}

function controlCommand(name: ControlCommand): Command {
  const cmd = new Command(name)
    .description(controlSummaries[name])
    .argument('<target>', 'the target')
    .option('--release <id>', "the release (default: the target's current one)")
    .option('--reason <text>', 'why, for the history')
    .option('--no-wait', 'publish and return without waiting for the answer')
    .addOption(
      new Option('--timeout <seconds>', 'how long to wait for the answer')
        .default(60)
        .argParser((v) => positive(v)),
    )
    .addOption(outputOption());
  if (name === 'promote') cmd.option('--full', 'skip the remaining steps and analysis');
  return cmd.action(async (target: string, opts: ControlOptions) => {
    await withBackend(async (b) => {
      await requireTarget(b.store, target);
      if (opts.release) {
        checkName(opts.release, 'release');
        const release = await b.store.release(opts.release);
        if (!release || release.target !== target) throw releaseNotFound(opts.release, target);
      }
      const msg: SignedControlMessage & { requestId: string } = {
        command: name,
        target,
        ...(opts.release ? { release: opts.release } : {}),
        full: opts.full ?? false,
        requestedBy: requester(),
        ...(opts.reason ? { reason: opts.reason } : {}),
        requestId: randomUUID(),
        idToken: await callerIdToken(b.cfg),
      };
      const to = { pubsub: await b.pubsub(), store: b.store, prefix: b.cfg.prefix };
      if (!opts.wait) {
        await publishControl(to, msg);
        print(
          opts.output,
          { requestId: msg.requestId, published: true },
          () =>
            `sent ${name} for ${target} (request ${msg.requestId}); \`switchyard history ${target}\` shows the answer`,
        );
        return;
      }
      const answer = await sendControl(to, msg, opts.timeout * 1000);
      if (!answer) {
        throw new CliError(
          exitCodes.failure,
          `no answer to ${name} within ${opts.timeout} s (request ${msg.requestId}): is the control function running? \`switchyard dev status\` shows the local stack; on Google Cloud, read the control function's logs`,
        );
      }
      if (answer.outcome === 'refused') {
        const reason = (answer.reason ?? 'no reason given').replace(new RegExp(`^${name}: `), '');
        const hint = refusalHint(name, target, answer.code);
        if (opts.output !== 'text') {
          print(opts.output, { ...answer, hint }, () => '');
          process.exitCode = exitCodes.refused;
          return;
        }
        throw new CliError(exitCodes.refused, `refused: ${reason}; ${hint}`);
      }
      print(opts.output, answer, (a) =>
        name === 'retry' || name === 'restart' || name === 'undo'
          ? `${name} applied: release ${a.releaseId}; \`switchyard watch ${target}\` follows it`
          : `${name} applied to ${a.releaseId}; \`switchyard watch ${target}\` follows it`,
      );
    });
  });
}

/** Parses a positive number of seconds (commander reports a bad one as invalid input). */
export function positive(value: string): number {
  const n = Number(value);
  if (!Number.isFinite(n) || n <= 0) throw new InvalidArgumentError(`${value} is not a positive number`);
  return n;
}

export function controlCommandsFor(): Command[] {
  return controlCommands.map(controlCommand);
}
