// The entry of the engine: decide(target, release, workload, event, now) over the four events a
// release meets — a step (the next release, workload and the commands to run), a command of that
// step that failed, a control message, a push. Pure: no I/O, no clock, no randomness. A step runs
// the same decision again when its message arrives twice; the commands it returns are idempotent,
// so nothing is done twice. A step dispatches by phase to the concerns, one file each: start.ts
// (Pending), adoption.ts, bluegreen.ts, canary.ts, rollback.ts and cleanup.ts (after the end), all
// built on kernel.ts; control.ts, intake.ts and failure.ts decide the other events.
import type { WorkloadSnapshot } from '../kubernetes/types.ts';
import type { ControlMessage } from '../messages.ts';
import { decideAdoption } from './adoption.ts';
import { decideBlueGreen } from './bluegreen.ts';
import { decideCanary } from './canary.ts';
import { decideCleanup } from './cleanup.ts';
import { type Command, describeCommand } from './commands.ts';
import { type ControlOutcome, decideControl } from './control.ts';
import { type CommandFailure, decideCommandFailed } from './failure.ts';
import { decidePush, type ParsedPush, type PushOutcome } from './intake.ts';
import {
  advance,
  type Decision,
  fail,
  keep,
  poll,
  promoted,
  type RunningContext,
  restored,
  running,
  type StepContext,
  type StepInput,
  selectedRevision,
} from './kernel.ts';
import { isTerminal, type Phase } from './phase.ts';
import type { Release, Workload } from './release.ts';
import { rollBackBlueGreen, rollBackCanary } from './rollback.ts';
import { startRelease } from './start.ts';
import { type EngineTarget, strategyOf } from './target.ts';

/** A control message for the release it addresses (null: none), beside the target's live releases. */
export interface ControlEvent {
  type: 'control';
  msg: ControlMessage;
  live: Release[];
}

/** A push of an image for the target, beside its releases not yet ended. */
export interface PushEvent {
  type: 'push';
  push: ParsedPush;
  messageId: string;
  active: Release[];
}

/** A command of the step's decision failed, as the runtime classified it. */
export interface CommandFailedEvent {
  type: 'command-failed';
  failure: CommandFailure;
}

export type EngineEvent = StepInput | ControlEvent | PushEvent | CommandFailedEvent;

/** The engine's one entry: what `event` makes of the target's release and workload. */
export function decide(t: EngineTarget, r: Release, w: Workload, e: StepInput, now: number): Decision;
export function decide(t: EngineTarget, r: Release, w: Workload, e: CommandFailedEvent, now: number): Failed;
export function decide(
  t: EngineTarget,
  r: Release | null,
  w: Workload,
  e: ControlEvent,
  now: number,
): ControlOutcome;
export function decide(t: EngineTarget, r: null, w: Workload, e: PushEvent, now: number): PushOutcome;
export function decide(
  target: EngineTarget,
  release: Release | null,
  workload: Workload,
  event: EngineEvent,
  now: number,
): Decision | Failed | ControlOutcome | PushOutcome {
  switch (event.type) {
    case 'step':
      return decideStep(target, release!, workload, event, now);
    case 'command-failed':
      return decideCommandFailed(release!, workload, event.failure, now);
    case 'control':
      return decideControl(target, event.msg, release, workload, event.live, now);
    case 'push':
      return decidePush(target, event.push, event.messageId, workload, event.active, now);
  }
}

type Failed = ReturnType<typeof decideCommandFailed>;

/**
 * Decides what a step does with the release, given what it observed in the cluster. The workload
 * record first follows the cluster (followCluster), so a decision never rests on bookkeeping that a
 * lost commit left behind.
 */
export function decideStep(
  target: EngineTarget,
  release: Release,
  workload: Workload,
  input: StepInput,
  now: number,
): Decision {
  const obs = input.observation;
  if (isTerminal(release.phase)) return decideCleanup({ target, release, workload, obs, now });
  const followed = followCluster(target, release, workload, obs.snapshot);
  const decision = decideActive({ target, release, workload: followed.workload, obs, now });
  return followed.hpa ? recordFollowed(release, decision, followed.workload, followed.hpa, now) : decision;
}

/** The record was behind the cluster: say so, and put the HPA where the traffic is. */
function recordFollowed(
  release: Release,
  decision: Decision,
  followed: Workload,
  hpa: Command,
  now: number,
): Decision {
  const commands = [hpa, ...decision.commands];
  const next =
    decision.release === release
      ? advance(release, now, { wakeIn: poll(release, now) }, commands)
      : {
          ...decision.release,
          history: [
            ...decision.release.history,
            {
              at: now,
              from: decision.release.phase,
              to: decision.release.phase,
              cause: 'step',
              reason: `the record followed the cluster: ${followed.stable?.revision} serves`,
              commands: [describeCommand(hpa)],
            },
          ],
        };
  return { ...decision, release: next, commands };
}

/**
 * The workload record as the cluster shows it: the revision the serving Service names is stable
 * (after a switch or a rollback whose commit was lost, the record would still name the other one),
 * with the HPA move that goes with it. Only this release's two revisions are recognised.
 */
export function followCluster(
  target: EngineTarget,
  release: Release,
  workload: Workload,
  snap: WorkloadSnapshot,
): { workload: Workload; hpa: Command | null } {
  const { stable, candidate } = release;
  const named = selectedRevision(snap, strategyOf(target).activeService);
  if (!stable || !candidate || !named || named === workload.stable?.revision) return { workload, hpa: null };
  if (named === candidate.revision && workload.stable?.revision === stable.revision) {
    return {
      workload: promoted(workload, stable, candidate),
      hpa: { type: 'MoveHpa', from: stable.deployment, to: candidate.deployment },
    };
  }
  if (named === stable.revision && workload.stable?.revision === candidate.revision) {
    return {
      workload: restored(workload, stable),
      hpa: { type: 'MoveHpa', from: candidate.deployment, to: stable.deployment },
    };
  }
  return { workload, hpa: null };
}

type PhaseStep = (ctx: StepContext) => Decision;

/**
 * A step of the phases a release is in only with both its revisions: the context narrowed once
 * here, so no step below reads `release.candidate!`. A record that breaks the rule (written by
 * hand) fails with what is wrong instead of a step crashing on it.
 */
const withRevisions =
  (step: (ctx: RunningContext) => Decision): PhaseStep =>
  (ctx) => {
    const narrowed = running(ctx);
    if (narrowed) return step(narrowed);
    return fail(ctx, `release record is ${ctx.release.phase} without both its revisions; retry it`);
  };

/** Phases whose steps differ by strategy. */
const byStrategy = withRevisions((ctx) => {
  const canary = ctx.target.spec.strategy.canary;
  if (!canary) return ctx.release.phase === 'RollingBack' ? rollBackBlueGreen(ctx) : decideBlueGreen(ctx);
  return ctx.release.phase === 'RollingBack' ? rollBackCanary(ctx, canary) : decideCanary(ctx, canary);
});

/** Every phase's steps (a canary's analysis-free phases after the switch are blue-green's). */
const phases: Record<Phase, PhaseStep> = {
  Pending: startRelease,
  Adopting: decideAdoption,
  DeployingGreen: byStrategy,
  Progressing: byStrategy,
  AwaitingDependencies: byStrategy,
  AwaitingPromotion: byStrategy,
  Switching: byStrategy,
  RollingBack: byStrategy,
  PrePromotionAnalysis: withRevisions(decideBlueGreen),
  PostPromotionAnalysis: withRevisions(decideBlueGreen),
  ScalingDown: withRevisions(decideBlueGreen),
  Succeeded: keep,
  RolledBack: keep,
  Aborted: keep,
  Failed: keep,
  Superseded: keep,
};

/** An active release: the guards first (paused, missing objects, unsafe to go on), then its phase's steps. */
function decideActive(ctx: StepContext): Decision {
  return held(ctx) ?? missing(ctx) ?? unsafe(ctx) ?? phases[ctx.release.phase](ctx);
}

/** A paused release holds still (rollbacks are never paused). */
function held(ctx: StepContext): Decision | null {
  return ctx.release.paused && ctx.release.phase !== 'RollingBack' ? keep(ctx) : null;
}

/** The namespace or a Service of the target is gone: the release fails (a rollback goes on). */
function missing(ctx: StepContext): Decision | null {
  const { target, release } = ctx;
  if (release.phase === 'RollingBack') return null;
  const snap = ctx.obs.snapshot;
  if (snap.namespaceMissing) {
    return fail(
      ctx,
      `namespace "${target.spec.namespace}" does not exist in the target's cluster: create it (with the workload and its Services) or fix spec.namespace`,
    );
  }
  const bg = strategyOf(target);
  for (const service of [bg.activeService, bg.previewService]) {
    if (service && snap.services[service] === null) {
      return fail(
        ctx,
        `Service "${service}" not found in namespace "${target.spec.namespace}": create it or fix the target's blueGreen services`,
      );
    }
  }
  return null;
}

function unsafe(ctx: StepContext): Decision | null {
  const why = unsafeToGoOn(ctx.target, ctx.release, ctx.obs.snapshot);
  return why ? fail(ctx, why) : null;
}

/**
 * Why a release must stop before it switches, leaving the cluster as it is: its new revision's
 * Deployment no longer runs the release's image (changed outside Switchyard), or the serving
 * Service was pointed elsewhere by hand (drift: the view the release was sized from is stale).
 */
function unsafeToGoOn(target: EngineTarget, release: Release, snap: WorkloadSnapshot): string | null {
  const { stable, candidate } = release;
  if (!candidate || !stable || release.switchedAt !== null || release.phase === 'RollingBack') return null;
  // The adapter refuses a Deployment whose template is not the revision's when it ensures it; one
  // changed after that shows here, by the image it runs.
  const images = snap.revisions[candidate.revision]?.images;
  if (images && Object.keys(images).length > 0 && !Object.values(images).includes(candidate.image)) {
    return `not switching to ${candidate.deployment}: its Deployment runs ${Object.values(images).join(', ')}, not ${candidate.image} (changed outside Switchyard); delete it or restore its template`;
  }
  const service = strategyOf(target).activeService;
  const named = selectedRevision(snap, service);
  const wide = target.spec.strategy.canary && !target.spec.strategy.canary.trafficRouting;
  if (!wide && named !== undefined && named !== stable.revision && named !== candidate.revision) {
    return `drift: Service "${service}" selects revision ${named}, not ${stable.revision} as when the release started (changed by hand); not switching. Fix the Service, then retry`;
  }
  return null;
}
