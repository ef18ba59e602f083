// The control commands (SPEC §6): promote, abort, retry, restart, undo, pause, resume. Each publishes
// a control message naming the target (and optionally the release) with who asked and why, then
// waits for the engine's answer: applied, or refused with the reason and what to do instead.
import { randomUUID } from 'node:crypto';
import { Command, Option } from 'commander';
import { isTerminal } from '../../shared/engine/phase.ts';
import { type ControlCommand, controlCommands, type SignedControlMessage } from '../../shared/messages.ts';
import type { RefusalCode } from '../../shared/refusals.ts';
import { type Backend, withBackend } from '../backend.ts';
import { publishControl, sendControl } from '../client.ts';
import { CliError, exitCodes, releaseNotFound } from '../exit-codes.ts';
import { callerIdToken, localUser } from '../identity.ts';
import { checkName, requireTarget } from '../lookup.ts';
import { type OutputFormat, outputOption, positive, print, table } from '../output.ts';
import { readTrain } from './train.ts';

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
  train?: string;
  timeout: number;
  output: OutputFormat;
}

/** Commands that act on a whole release train with --train <version>. */
const trainCommands: readonly ControlCommand[] = ['promote', 'abort'];

function controlCommand(name: ControlCommand): Command {
  const forTrains = trainCommands.includes(name);
  const cmd = new Command(name)
    .description(controlSummaries[name])
    .argument(forTrains ? '[target]' : '<target>', forTrains ? 'the target (or --train)' : 'the target')
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
  if (forTrains)
    cmd.option('--train <version>', `${name} every release of the release train of this version`);
  return cmd.action(async (target: string | undefined, opts: ControlOptions) => {
    await withBackend(async (b) => {
      if (opts.train !== undefined) {
        if (target !== undefined || opts.release) {
          throw new CliError(
            exitCodes.invalidInput,
            `--train acts on every member: name no target or --release with it`,
          );
        }
        await controlTrain(b, name, opts.train, opts);
        return;
      }
      if (target === undefined) {
        throw new CliError(
          exitCodes.invalidInput,
          `name a target, or a release train with --train <version>`,
        );
      }
      await requireTarget(b.store, target);
      if (opts.release) {
        checkName(opts.release, 'release');
        const release = await b.store.release(opts.release);
        if (!release || release.target !== target) throw releaseNotFound(opts.release, target);
      }
      const sent = await send(b, name, target, opts.release, opts);
      if (!sent) return;
      const answer = sent;
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

type Answer = NonNullable<Awaited<ReturnType<typeof sendControl>>>;

/** Publishes one control message; with --wait, its answer (null when published without waiting). */
async function send(
  b: Backend,
  name: ControlCommand,
  target: string,
  release: string | undefined,
  opts: ControlOptions,
): Promise<Answer | null> {
  const msg: SignedControlMessage & { requestId: string } = {
    command: name,
    target,
    ...(release ? { release } : {}),
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
      { requestId: msg.requestId, target, published: true },
      () =>
        `sent ${name} for ${target} (request ${msg.requestId}); \`switchyard history ${target}\` shows the answer`,
    );
    return null;
  }
  const answer = await sendControl(to, msg, opts.timeout * 1000);
  if (!answer) {
    throw new CliError(
      exitCodes.failure,
      `no answer to ${name} within ${opts.timeout} s (request ${msg.requestId}): is the control function running? \`switchyard dev status\` shows the local stack; on Google Cloud, read the control function's logs`,
    );
  }
  return answer;
}

/**
 * promote or abort --train: the command for each member's release of the version that can take it
 * (promote: those AwaitingPromotion, or every one in flight with --full; abort: every one in flight,
 * dependents first), each naming its release. Refused when one of them was refused.
 */
async function controlTrain(b: Backend, name: ControlCommand, version: string, opts: ControlOptions) {
  const view = await readTrain(b, version);
  const live = view.members.filter((m) => m.release && !isTerminal(m.release.phase));
  const members = (
    name === 'promote'
      ? live.filter((m) => opts.full || m.release!.phase === 'AwaitingPromotion')
      : [...live].reverse()
  ).map((m) => ({ target: m.target, release: m.release!.id }));
  if (members.length === 0) {
    const phases = view.members.map((m) => `${m.target} ${m.release?.phase ?? 'none'}`).join(', ');
    throw new CliError(
      exitCodes.refused,
      `refused: no release of train ${version} can be ${name === 'promote' ? 'promoted' : 'aborted'} (${phases}); \`switchyard train get ${version}\` shows the train`,
    );
  }
  const results: { target: string; release: string; outcome: string; reason: string | null }[] = [];
  for (const m of members) {
    const answer = await send(b, name, m.target, m.release, {
      ...opts,
      output: opts.wait ? opts.output : 'json',
    });
    results.push({
      ...m,
      outcome: answer ? answer.outcome : 'published',
      reason: answer?.outcome === 'refused' ? (answer.reason ?? null) : null,
    });
  }
  print(opts.output, { train: version, command: name, results }, (r) =>
    table(
      ['TARGET', 'RELEASE', 'OUTCOME'],
      r.results.map((x) => [x.target, x.release, x.reason ? `${x.outcome}: ${x.reason}` : x.outcome]),
    ),
  );
  if (results.some((r) => r.outcome === 'refused')) process.exitCode = exitCodes.refused;
}

export function controlCommandsFor(): Command[] {
  return controlCommands.map(controlCommand);
}
