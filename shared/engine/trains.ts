// Release trains (SPEC §10): a release whose target depends on others waits, ready and checked,
// before it takes traffic until each dependency's release of the same version (the same tag) has
// switched and passed its post-promotion analysis; a dependency whose release of the version ended
// without switching aborts it, with the cause named. Pure.

import { tagVersion } from '../target/tag-filter.ts';
import {
  type Decision,
  type DependencyRelease,
  type DependentRelease,
  go,
  type RunningContext,
  wait,
} from './kernel.ts';
import { isTerminal, type Phase } from './phase.ts';
import type { Release } from './release.ts';
import type { EngineTarget } from './target.ts';

/**
 * How long a release waits for a dependency's release of its version to appear when none has:
 * five minutes, about what one pipeline needs to build and push the next service of a version.
 * After that the dependency is taken to be unchanged in this version and the release goes on.
 */
export const defaultDependsOnWaitSeconds = 300;

/**
 * How often a member waiting on others of its train looks again by itself. The others wake it when
 * they switch or end (shared/runtime/train-wake.ts); this look only covers a wake-up that was lost.
 * Longer than the runtime's inline wait (25 s by default), so no invocation sleeps for it (a
 * sleeping invocation holds a delivery slot of its subscription): the sweep fires it.
 */
export const trainBackstopMs = 30_000;

/**
 * Whether a transition to `to` is one the other members of the release's train act on: a release
 * created (what they wait for now has a name), a switch that passed its checks (ScalingDown), a
 * rollback, an end. Their releases are woken for it.
 */
export function wakesTrain(from: Phase | null, to: Phase): boolean {
  if (from === to) return false;
  return from === null || to === 'ScalingDown' || to === 'RollingBack' || isTerminal(to);
}

/** The next look of a train wait: the backstop, or sooner when a wait for a missing release ends. */
function trainWake(now: number, deadlines: number[]): number {
  return Math.max(0, Math.min(now + trainBackstopMs, ...deadlines) - now);
}

/** The version a tag of the target stands for: its versionGroup's text, or the whole tag. */
export function versionOf(target: EngineTarget, tag: string): string {
  return tagVersion(target.spec.image.tagFilter, target.spec.image.versionGroup, tag);
}

/** The version that puts a release in a train: read from its tag when it was made; none untagged. */
export function trainVersion(release: Pick<Release, 'tag' | 'version'>): string | undefined {
  return release.version ?? release.tag;
}

/**
 * A dependency whose release of the version ended without switching (or is rolling back) aborts the
 * release at once, wherever it is before its switch: also while its own candidate is still coming
 * up, which may never happen. Null otherwise.
 */
export function trainFailed(ctx: RunningContext): Decision | null {
  const failed = dependencyStates(ctx).find((s) => s.kind === 'failed');
  return failed ? abortFor(ctx, failed.why) : null;
}

/** Null when the release may take traffic now; else the wait in AwaitingDependencies, or the abort. */
export function awaitingDependencies(ctx: RunningContext): Decision | null {
  const { release, target, now } = ctx;
  const states = dependencyStates(ctx);
  const failed = states.find((s) => s.kind === 'failed');
  if (failed) return abortFor(ctx, failed.why);
  const waits = states.filter((s) => s.kind === 'waiting');
  if (waits.length === 0) return null;
  const waitMs = (target.spec.dependsOnWaitSeconds ?? defaultDependsOnWaitSeconds) * 1000;
  const deadlines = waits.filter((s) => s.missing).map(() => release.createdAt + waitMs);
  const reason = `waiting for ${waits.map((s) => s.why).join(', ')} (release train ${trainVersion(release)})`;
  return go(ctx, {
    phase: 'AwaitingDependencies',
    reason,
    wakeIn: trainWake(now, deadlines),
    cause: 'train',
  });
}

/** What each dependency's release of the version means for this release (none outside a train). */
function dependencyStates(ctx: RunningContext): DependencyState[] {
  const { release, target, now } = ctx;
  const names = target.spec.dependsOn ?? [];
  if (names.length === 0 || !trainVersion(release)) return [];
  const seen = new Map((ctx.obs.dependencies ?? []).map((d) => [d.target, d.release]));
  const waitMs = (target.spec.dependsOnWaitSeconds ?? defaultDependsOnWaitSeconds) * 1000;
  return names.map((name) => stateOf(name, seen.get(name) ?? null, now >= release.createdAt + waitMs));
}

type DependencyState =
  | { kind: 'switched' }
  | { kind: 'failed'; why: string }
  /** missing: the dependency has no release of the version yet. */
  | { kind: 'waiting'; why: string; missing?: boolean };

function stateOf(name: string, r: DependencyRelease['release'], waitedLongEnough: boolean): DependencyState {
  if (!r) {
    return waitedLongEnough
      ? { kind: 'switched' }
      : { kind: 'waiting', why: `a release of ${name}`, missing: true };
  }
  // Switched and past its post-promotion analysis: ScalingDown comes after it, Succeeded at the end.
  if (r.phase === 'Succeeded' || r.phase === 'ScalingDown') return { kind: 'switched' };
  if (isTerminal(r.phase) || r.phase === 'RollingBack') {
    return { kind: 'failed', why: `${r.id} ${r.phase}${r.reason ? `: ${r.reason}` : ''}` };
  }
  // Its phase is not part of the reason: `switchyard train get` shows it live, and a reason that
  // followed each of its phases would put an entry in this release's history for every one.
  return { kind: 'waiting', why: r.id };
}

/** A dependency of the train did not switch: this release ends Aborted before it takes traffic. */
function abortFor(ctx: RunningContext, why: string): Decision {
  return go(ctx, {
    phase: 'RollingBack',
    reason: `aborted: dependency ${why}`,
    wakeIn: 0,
    cause: 'train',
    patch: { rollbackOutcome: 'Aborted' },
  });
}

/**
 * A switched member of a train (ScalingDown), before its old revision goes: the train goes back
 * when a direct dependent whose rollback sends it back has rolled back (the dependents went back
 * first, so the order is the reverse of the switches); and the old revision is kept warm while a
 * dependent that could send it back still has its release of the version in flight, or may still
 * get one. Null when neither holds.
 */
export function trainAfterSwitch(ctx: RunningContext): Decision | null {
  const { release, now } = ctx;
  const dependents = ctx.obs.dependents ?? [];
  const version = trainVersion(release);
  if (dependents.length === 0 || !version) return null;
  const back = dependents.find(sentBack);
  if (back?.release) {
    const r = back.release;
    return go(ctx, {
      phase: 'RollingBack',
      reason: `release train ${version} rolled back: ${r.id} RolledBack${r.reason ? `: ${r.reason}` : ''}`,
      wakeIn: 0,
      cause: 'train',
      patch: { rollbackOutcome: 'RolledBack', trainRollback: r.id },
    });
  }
  const switchedAt = release.switchedAt ?? release.phaseSince;
  const holding = dependents.filter((d) => d.holds && mayStillFail(d, switchedAt, now));
  if (holding.length === 0) return null;
  const deadlines = holding.filter((d) => !d.release).map((d) => switchedAt + d.waitSeconds * 1000);
  return wait(
    ctx,
    `keeping ${release.stable.deployment} warm for release train ${version}: ${holding.map(describe).join(', ')} may still roll back`,
    trainWake(now, deadlines),
  );
}

/** The dependent's release rolled back, and a rollback of it sends its dependencies back. */
function sentBack(d: DependentRelease): boolean {
  return d.release?.phase === 'RolledBack' && (d.rollbackTrain || d.release.trainRollback);
}

function mayStillFail(d: DependentRelease, switchedAt: number, now: number): boolean {
  if (!d.release) return now < switchedAt + d.waitSeconds * 1000;
  return !isTerminal(d.release.phase);
}

function describe(d: DependentRelease): string {
  return d.release ? d.release.id : `a release of ${d.target}`;
}
