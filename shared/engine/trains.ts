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
  poll,
  type RunningContext,
  wait,
} from './kernel.ts';
import { isTerminal } from './phase.ts';
import type { Release } from './release.ts';
import type { EngineTarget } from './target.ts';

/**
 * How long a release waits for a dependency's release of its version to appear when none has:
 * five minutes, about what one pipeline needs to build and push the next service of a version.
 * After that the dependency is taken to be unchanged in this version and the release goes on.
 */
export const defaultDependsOnWaitSeconds = 300;

/** The version a tag of the target stands for: its versionGroup's text, or the whole tag. */
export function versionOf(target: EngineTarget, tag: string): string {
  return tagVersion(target.spec.image.tagFilter, target.spec.image.versionGroup, tag);
}

/** The version that puts a release in a train: read from its tag when it was made; none untagged. */
export function trainVersion(release: Pick<Release, 'tag' | 'version'>): string | undefined {
  return release.version ?? release.tag;
}

/** Null when the release may take traffic now; else the wait in AwaitingDependencies, or the abort. */
export function awaitingDependencies(ctx: RunningContext): Decision | null {
  const { release, target, now } = ctx;
  const names = target.spec.dependsOn ?? [];
  const version = trainVersion(release);
  if (names.length === 0 || !version) return null;
  const seen = new Map((ctx.obs.dependencies ?? []).map((d) => [d.target, d.release]));
  const waitMs = (target.spec.dependsOnWaitSeconds ?? defaultDependsOnWaitSeconds) * 1000;
  const waits: string[] = [];
  for (const name of names) {
    const state = stateOf(name, seen.get(name) ?? null, now >= release.createdAt + waitMs);
    if (state.kind === 'failed') return abortFor(ctx, state.why);
    if (state.kind === 'waiting') waits.push(state.why);
  }
  if (waits.length === 0) return null;
  const reason = `waiting for ${waits.join(', ')} (release train ${version})`;
  return go(ctx, { phase: 'AwaitingDependencies', reason, wakeIn: poll(release, now), cause: 'train' });
}

type DependencyState = { kind: 'switched' } | { kind: 'waiting' | 'failed'; why: string };

function stateOf(name: string, r: DependencyRelease['release'], waitedLongEnough: boolean): DependencyState {
  if (!r) return waitedLongEnough ? { kind: 'switched' } : { kind: 'waiting', why: `a release of ${name}` };
  // Switched and past its post-promotion analysis: ScalingDown comes after it, Succeeded at the end.
  if (r.phase === 'Succeeded' || r.phase === 'ScalingDown') return { kind: 'switched' };
  if (isTerminal(r.phase) || r.phase === 'RollingBack') {
    return { kind: 'failed', why: `${r.id} ${r.phase}${r.reason ? `: ${r.reason}` : ''}` };
  }
  return { kind: 'waiting', why: `${r.id} (${r.phase})` };
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
  const holds = dependents.filter((d) => d.holds && mayStillFail(d, switchedAt, now)).map(describe);
  if (holds.length === 0) return null;
  return wait(
    ctx,
    `keeping ${release.stable.deployment} warm for release train ${version}: ${holds.join(', ')} may still roll back`,
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
  return d.release ? `${d.release.id} (${d.release.phase})` : `a release of ${d.target}`;
}
