// The transition kernel every strategy builds on: what a step observed (Observation), what it decides
// (Decision), how a release changes (advance: phase, history, the next wake-up), how often a waiting
// step looks again (poll), deadlines, and the small builders a step's decision is made of. Pure.
import type { ProviderResult } from '../analysis/provider.ts';
import type { RunKind } from '../analysis/run.ts';
import { revisionOf } from '../kubernetes/revision.ts';
import {
  type EndpointCounts,
  labels,
  type RevisionSpec,
  type WorkloadSnapshot,
} from '../kubernetes/types.ts';
import type { RouteState } from '../routers/router.ts';
import type { StepName } from '../topology.ts';
import { type Command, describeCommand } from './commands.ts';
import { isTerminal, type Phase } from './phase.ts';
import {
  checkedRelease,
  isRunning,
  type PodTemplate,
  type Release,
  type ReleaseDraft,
  type RevisionRef,
  type RunningRelease,
  type Workload,
} from './release.ts';
import type { EngineTarget } from './target.ts';

/** How often a waiting step looks at the cluster again: soon right after a change, then every second. */
export const pollMs = 1000;
const quickPollMs = 250;
const quickPhaseMs = 5000;

export function poll(release: Release, now: number): number {
  return now - release.phaseSince < quickPhaseMs ? quickPollMs : pollMs;
}

/** What the step's function read from the cluster just before deciding. */
export interface Observation {
  snapshot: WorkloadSnapshot;
  /** EndpointSlice counts of the target's Services, by Service name. */
  endpoints: Record<string, EndpointCounts>;
  /** Answers of the metric providers for the due metrics of the running analyses: by run, then metric. */
  measurements?: Partial<Record<RunKind, Record<string, ProviderResult>>>;
  /** Canary: the traffic router's read-back of what is in force. */
  route?: RouteState;
  /** Release trains: each dependency's newest release of the release's version (null: none yet). */
  dependencies?: DependencyRelease[];
  /** Release trains, once switched: each direct dependent's newest release of the version. */
  dependents?: DependentRelease[];
}

/** What a dependent sees of a dependency's release of the same version. */
export interface DependencyRelease {
  target: string;
  release: { id: string; phase: Phase; switchedAt: number | null; reason: string | null } | null;
}

/** What a switched dependency sees of a dependent's release of the same version. */
export interface DependentRelease {
  target: string;
  /** The dependent has rollbackTrain: a rollback of its release sends this one back. */
  rollbackTrain: boolean;
  /** It or a target downstream of it has rollbackTrain: this one keeps its old revision warm for it. */
  holds: boolean;
  /** Its dependsOnWaitSeconds: how long after this release switched a release of it may still come. */
  waitSeconds: number;
  release: {
    id: string;
    phase: Phase;
    reason: string | null;
    /** It went back because the train did (a dependent of its own rolled back). */
    trainRollback: boolean;
  } | null;
}

export interface StepInput {
  type: 'step';
  step: StepName;
  observation: Observation;
}

export interface Decision {
  release: Release;
  workload: Workload;
  commands: Command[];
}

export interface Change {
  phase?: Phase;
  reason?: string | null;
  /** When to look again; null: nothing scheduled (waits for a human or ended). */
  wakeIn?: number | null;
  cause?: string;
  patch?: Partial<ReleaseDraft>;
}

/** Applies a change: new phase (recorded in history), seq + 1, the next wake-up. */
export function advance(
  release: Release,
  now: number,
  change: Change,
  commands: Command[] = [],
  extraHistory: Partial<Release['history'][number]> = {},
): Release {
  const phase = change.phase ?? release.phase;
  const seq = release.seq + 1;
  const next = checkedRelease({
    ...release,
    ...change.patch,
    phase,
    seq,
    updatedAt: now,
    phaseSince: phase === release.phase ? release.phaseSince : now,
    reason:
      change.reason !== undefined
        ? change.reason
        : endsRollback(release, phase)
          ? rollbackCause(release)
          : release.reason,
    lease: null,
  });
  const wakeIn = change.wakeIn === undefined ? null : change.wakeIn;
  if (isTerminal(phase)) {
    next.wake = next.cleanup ? { step: 'rollback', at: next.cleanup.at, seq } : null;
  } else {
    next.wake = wakeIn === null ? null : { step: stepFor(phase), at: now + wakeIn, seq };
  }
  // The history records changes: a phase, commands, or a new reason (not the same wait again).
  if (phase !== release.phase || commands.length > 0 || (change.reason && change.reason !== release.reason)) {
    next.history = [...release.history, transition(release, now, phase, change, commands, extraHistory)];
  }
  return next;
}

function transition(
  release: Release,
  now: number,
  phase: Phase,
  change: Change,
  commands: Command[],
  extraHistory: Partial<Release['history'][number]>,
): Release['history'][number] {
  return {
    at: now,
    from: release.phase,
    to: phase,
    cause: change.cause ?? 'step',
    ...(change.reason ? { reason: change.reason } : {}),
    ...(commands.length ? { commands: commands.map(describeCommand) } : {}),
    ...extraHistory,
  };
}

/** A rollback ending without a word of its own: its record says why it rolled back, not what it last waited for. */
function endsRollback(release: Release, phase: Phase): boolean {
  return release.phase === 'RollingBack' && isTerminal(phase);
}

function rollbackCause(release: Release): string | null {
  for (let i = release.history.length - 1; i >= 0; i--) {
    const t = release.history[i]!;
    if (t.to === 'RollingBack' && t.from !== 'RollingBack') return t.reason ?? release.reason;
  }
  return release.reason;
}

function stepFor(phase: Phase): StepName {
  switch (phase) {
    case 'Pending':
    case 'Adopting':
    case 'DeployingGreen':
      return 'deploy-green';
    case 'PrePromotionAnalysis':
    case 'AwaitingDependencies':
    case 'AwaitingPromotion':
    case 'PostPromotionAnalysis':
    case 'Progressing':
      return 'analyze';
    case 'Switching':
      return 'switch';
    case 'ScalingDown':
      return 'scale-down';
    default:
      return 'rollback';
  }
}

/** The workload once `release` has ended. */
export function endFor(workload: Workload, release: Release): Workload {
  return workload.inFlight === release.id
    ? { ...workload, inFlight: null, inFlightCandidate: null, gcPending: true }
    : workload;
}

/** The workload once `to` serves in place of `from` (a switch or promotion): `from` heads the earlier revisions. */
export function promoted(workload: Workload, from: RevisionRef, to: RevisionRef): Workload {
  return {
    ...workload,
    stable: to,
    previous: [
      from,
      ...workload.previous.filter((p) => p.revision !== from.revision && p.revision !== to.revision),
    ],
  };
}

/** The workload once `back` serves again (a rollback after a switch). */
export function restored(workload: Workload, back: RevisionRef): Workload {
  return {
    ...workload,
    stable: back,
    previous: workload.previous.filter((p) => p.revision !== back.revision),
  };
}

/** The revision a Service's selector names (undefined: it does not exist or selects the workload wide). */
export function selectedRevision(snap: WorkloadSnapshot, service: string | undefined): string | undefined {
  return service === undefined ? undefined : revisionNamedBy(snap.services[service]);
}

/** The revision a Service's selector names; undefined when it selects the whole workload (or is gone). */
export function revisionNamedBy(service: { selector: Record<string, string> } | null | undefined) {
  return service?.selector[labels.revision];
}

/** Ready endpoints of `revision` a Service lists ('' for pods without a revision label). */
export const ready = (counts: EndpointCounts | undefined, revision: string) =>
  counts?.readyByRevision[revision] ?? 0;
/** Endpoints of `revision` a Service lists, ready or not. */
export const listed = (counts: EndpointCounts | undefined, revision: string) =>
  counts?.totalByRevision[revision] ?? 0;

/** The Kubernetes revision spec of a template for this release. */
export function revisionSpec(
  target: EngineTarget,
  release: Release,
  template: PodTemplate,
  replicas: number,
): RevisionSpec {
  return {
    namespace: target.spec.namespace,
    workload: target.spec.workload,
    revision: revisionOf(template),
    template,
    replicas,
    progressDeadlineSeconds: target.spec.progressDeadlineSeconds,
    releaseId: release.id,
    target: target.name,
  };
}

/** Everything a step decides from: the target, the release and workload records, what it observed, the time. */
export interface StepContext<R extends Release = Release> {
  target: EngineTarget;
  release: R;
  workload: Workload;
  obs: Observation;
  now: number;
}

/** A step of a release on its way between its revisions: both are known (a union by phase). */
export type RunningContext = StepContext<RunningRelease>;

/** The context narrowed to a running release, or null when its phase needs no revisions. */
export function running(ctx: StepContext): RunningContext | null {
  return isRunning(ctx.release) ? (ctx as RunningContext) : null;
}

/*
 * A strategy is a list of small named steps, each `(ctx, …) => Decision | null`: a decision when it
 * acts or waits, null when it has nothing to do and the next one decides (`a(ctx) ?? b(ctx) ?? …`).
 */

/** When the progress deadline counted from `since` (default: the phase's start) has passed. */
export function overdue(ctx: StepContext, since = ctx.release.phaseSince): boolean {
  return ctx.now >= since + ctx.target.spec.progressDeadlineSeconds * 1000;
}

/** Nothing changes. */
export function keep(ctx: StepContext): Decision {
  return { release: ctx.release, workload: ctx.workload, commands: [] };
}

/** The release changes (and runs `commands`, recorded in its history); the workload becomes `workload`. */
export function go(
  ctx: StepContext,
  change: Change,
  commands: Command[] = [],
  workload: Workload = ctx.workload,
): Decision {
  return { release: advance(ctx.release, ctx.now, change, commands), workload, commands };
}

/** Waits, saying for what, and looks again after `wakeIn`. */
export function wait(ctx: StepContext, reason: string, wakeIn = poll(ctx.release, ctx.now)): Decision {
  return go(ctx, { reason, wakeIn });
}

/** Runs `commands`, saying why, and looks again soon. */
export function act(
  ctx: StepContext,
  commands: Command[],
  reason: string,
  workload = ctx.workload,
): Decision {
  return go(ctx, { reason, wakeIn: poll(ctx.release, ctx.now) }, commands, workload);
}

/** Ends the release Failed, the cluster left as it is. */
export function fail(ctx: StepContext, reason: string): Decision {
  return go(ctx, { phase: 'Failed', reason }, [], endFor(ctx.workload, ctx.release));
}

/** Sends the release back to its stable revision (a failure: it ends RolledBack). */
export function rollBack(ctx: StepContext, reason: string, patch: Partial<ReleaseDraft> = {}): Decision {
  return go(ctx, {
    phase: 'RollingBack',
    reason,
    wakeIn: 0,
    patch: { ...patch, rollbackOutcome: 'RolledBack' },
  });
}
