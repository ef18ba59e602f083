// The release state machine's data: the release record (a union by phase) and the workload record.
import type { V1PodTemplateSpec } from '@kubernetes/client-node';
import type { AnalysisRun } from '../analysis/run.ts';
import type { HeaderRoute, RouteState } from '../routers/router.ts';
import type { StepName } from '../topology.ts';
import { isRevisionPhase, type Phase, type RevisionPhase } from './phase.ts';

/** Where a canary release is in its steps. */
export interface CanaryState {
  /** Index of the current step; steps.length means all done (promotion next). */
  step: number;
  stepSince: number;
  /** Weight the last setWeight step asked for. */
  weight: number;
  headerRoute: HeaderRoute | null;
  /** Replicas fixed by setCanaryScale; null: follow the weight. */
  scale: number | null;
  /** The route state the router last reported (shown by the CLI). */
  inForce: RouteState | null;
  background: AnalysisRun | null;
  /** Runs of analysis steps, in order; the last may be running. */
  stepRuns: AnalysisRun[];
}

/** One revision of the workload: the Deployment `<workload>-<revision>`. */
export interface RevisionRef {
  revision: string;
  deployment: string;
  /** Image reference by digest of the revision's updated container(s). */
  image: string;
}

export interface Transition {
  at: number;
  from: Phase | null;
  to: Phase;
  /** What caused it: a step, a control command, a timer, the sweep, a push. */
  cause: string;
  /** Who asked, for control commands. */
  by?: string;
  reason?: string;
  /** Short descriptions of the commands the transition ran. */
  commands?: string[];
}

export type ReleaseTrigger =
  | { kind: 'push'; messageId: string; tag?: string }
  | { kind: 'restart' | 'retry' | 'undo'; requestId: string; by: string; reason?: string };

/** A wake-up: which step runs next for the release, and when (ms since epoch). */
export interface Wake {
  step: StepName;
  at: number;
  /** The release seq the step message will carry. */
  seq: number;
  /** Set by the runtime when the function that scheduled it waits for it itself (else the sweep does). */
  inline?: boolean;
  /**
   * Set by the runtime: until then, looks that see nothing new are handed over by the functions
   * without a write (so the stored `at` may be older); the sweep counts the wake-up as owned.
   */
  pollUntil?: number;
}

/** What every release record holds, whatever its phase. */
interface ReleaseFields {
  id: string;
  target: string;
  /** 1, 2, 3… per target. */
  number: number;
  trigger: ReleaseTrigger;
  /** The image to release, by digest: `repository@sha256:…`. */
  image: string;
  tag?: string;
  /** The version the tag stands for in a release train (spec.image.versionGroup); else the tag. */
  version?: string;
  /** Release trains: the dependent's release whose rollback sent this one back. */
  trainRollback?: string;
  /** Set for a `restart`: makes a new revision of the same image. */
  restartedAt?: string;
  /** Generation of the target whose spec the release follows. */
  targetGeneration: number;
  /** Bumped by every change; step messages carry it, so late or duplicate ones are recognised. */
  seq: number;
  phaseSince: number;
  createdAt: number;
  updatedAt: number;
  paused: boolean;
  /** Full size of the workload, from the stable revision (or its HPA) when the release started. */
  replicas: number;
  /**
   * The plain Deployment being adopted, with its replica count, and the selectors its Services had
   * before they were narrowed to the first revision (restored if the adoption is undone).
   */
  adoption: {
    deployment: string;
    replicas: number;
    revision: RevisionRef;
    selectors?: Record<string, Record<string, string>>;
    /** Set by `abort`: the adoption is undone as if it had lapsed, and the release ends Aborted. */
    aborted?: boolean;
  } | null;
  switchedAt: number | null;
  /** Set on entering RollingBack: how the rollback ends (abort ends Aborted, a failure RolledBack). */
  rollbackOutcome: 'RolledBack' | 'Aborted' | null;
  wake: Wake | null;
  /** Work on green still due after the release ended: scale it down (abort) or delete it (superseded). */
  cleanup: { deployment: string; at: number; action: 'scale-down' | 'delete' } | null;
  /** Set once a cleanup has moved Services and routes off the revision it removes. */
  cleanupRouted?: boolean;
  /**
   * Release trains: its target depended on others, or others on it, when the release was made (by
   * a push); then its transitions wake the other members of its train (shared/runtime/train-wake.ts).
   */
  inTrain?: boolean;
  /** For `undo`: the earlier revision to bring back. */
  undoTo: RevisionRef | null;
  /**
   * Pre- and post-promotion analysis runs with every measurement, and the old revision's drain
   * (spec.drain) once the release scales it down.
   */
  analysis: { pre: AnalysisRun | null; post: AnalysisRun | null; drain?: AnalysisRun | null };
  /** Canary releases: the steps' progress, background and step analysis. */
  canary: CanaryState | null;
  /** Failed attempts in a row (kept by the runtime): after a bound the release ends Failed. */
  attempts?: { count: number; error: string } | null;
  /** The current step's claim, so a duplicate delivery does not run it twice at once. */
  lease: { owner: string; until: number } | null;
  /** Why the release is where it is (failures, refusals, waits). */
  reason: string | null;
  history: Transition[];
  /** How many history entries have been published as events (kept by the runtime, not the engine). */
  announced?: number;
  /** History entries wait to be published as events (kept by the runtime). */
  eventsPending?: boolean;
}

/** A release on its way between its two revisions: both are known. */
export interface RunningRelease extends ReleaseFields {
  phase: RevisionPhase;
  /** The revision serving traffic when the release started. */
  stable: RevisionRef;
  /** The new revision the release brings. */
  candidate: RevisionRef;
}

/**
 * A release before its revisions exist (Pending, Adopting: the stable one is null while a plain
 * Deployment is adopted) or ended (the candidate is null when it ended before making one).
 */
export interface IdleRelease extends ReleaseFields {
  phase: Exclude<Phase, RevisionPhase>;
  stable: RevisionRef | null;
  candidate: RevisionRef | null;
}

/** The release record (document `releases/<id>`), a union by phase. */
export type Release = RunningRelease | IdleRelease;

/** A release-shaped record whose phase and revisions have not been checked against each other. */
export type ReleaseDraft = ReleaseFields & {
  phase: Phase;
  stable: RevisionRef | null;
  candidate: RevisionRef | null;
};

/**
 * The draft as a release once its phase and revisions agree. A phase that needs both revisions
 * without them is a bug of the step that chose it: refused here, before it is written.
 */
export function checkedRelease(draft: ReleaseDraft): Release {
  if (isRevisionPhase(draft.phase) && (!draft.stable || !draft.candidate)) {
    throw new Error(
      `release ${draft.id} cannot be ${draft.phase} without both its revisions (stable ${draft.stable?.revision ?? 'none'}, candidate ${draft.candidate?.revision ?? 'none'})`,
    );
  }
  return draft as Release;
}

/** Narrows a release to one on its way between its revisions. */
export function isRunning(release: Release): release is RunningRelease {
  return isRevisionPhase(release.phase);
}

/** What Switchyard knows of a target's workload across releases (document `workloads/<target>`). */
export interface Workload {
  target: string;
  /** The revision serving traffic after the last switch. */
  stable: RevisionRef | null;
  /** Earlier stable revisions, newest first (for `undo`). */
  previous: RevisionRef[];
  /** The release in flight, if any. */
  inFlight: string | null;
  /** A newer release waiting for the in-flight one to finish (it had switched already). */
  queued: string | null;
  /** The green Deployment of the release in flight (cleanups of older releases leave it alone). */
  inFlightCandidate: string | null;
  /** The last release, in flight or ended. */
  lastRelease: string | null;
  /** Release counter of the target. */
  releases: number;
  /** A release ended since old revisions were last cleaned up (the sweep does it). */
  gcPending: boolean;
}

export function emptyWorkload(target: string): Workload {
  return {
    target,
    stable: null,
    previous: [],
    inFlight: null,
    queued: null,
    inFlightCandidate: null,
    lastRelease: null,
    releases: 0,
    gcPending: false,
  };
}

export type PodTemplate = V1PodTemplateSpec;

export interface NewRelease {
  target: string;
  targetGeneration: number;
  trigger: ReleaseTrigger;
  image: string;
  tag?: string;
  version?: string;
  restartedAt?: string;
  undoTo?: RevisionRef;
  reason?: string;
}

/** A new release record, numbered after the workload's last one. */
export function createRelease(workload: Workload, r: NewRelease, now: number): Release {
  const number = workload.releases + 1;
  return {
    id: `${r.target}-${number}`,
    target: r.target,
    number,
    trigger: r.trigger,
    image: r.image,
    ...(r.tag ? { tag: r.tag } : {}),
    ...(r.version ? { version: r.version } : {}),
    ...(r.restartedAt ? { restartedAt: r.restartedAt } : {}),
    targetGeneration: r.targetGeneration,
    phase: 'Pending',
    seq: 0,
    phaseSince: now,
    createdAt: now,
    updatedAt: now,
    paused: false,
    stable: null,
    candidate: null,
    replicas: 0,
    adoption: null,
    switchedAt: null,
    rollbackOutcome: null,
    wake: { step: 'deploy-green', at: now, seq: 0 },
    cleanup: null,
    undoTo: r.undoTo ?? null,
    analysis: { pre: null, post: null },
    canary: null,
    lease: null,
    reason: r.reason ?? null,
    history: [
      {
        at: now,
        from: null,
        to: 'Pending',
        cause: r.trigger.kind,
        ...(r.reason ? { reason: r.reason } : {}),
      },
    ],
  };
}
