// Release trains (SPEC §10): a release whose target depends on others waits, ready and checked,
// before it takes traffic until each dependency's release of the same version (the same tag) has
// switched and passed its post-promotion analysis; a dependency whose release of the version ended
// without switching aborts it, with the cause named. Pure.
import { type Decision, type DependencyRelease, go, poll, type RunningContext } from './kernel.ts';
import { isTerminal } from './phase.ts';

/**
 * How long a release waits for a dependency's release of its version to appear when none has:
 * five minutes, about what one pipeline needs to build and push the next service of a version.
 * After that the dependency is taken to be unchanged in this version and the release goes on.
 */
export const defaultDependsOnWaitSeconds = 300;

/** Null when the release may take traffic now; else the wait in AwaitingDependencies, or the abort. */
export function awaitingDependencies(ctx: RunningContext): Decision | null {
  const { release, target, now } = ctx;
  const names = target.spec.dependsOn ?? [];
  if (names.length === 0 || !release.tag) return null;
  const seen = new Map((ctx.obs.dependencies ?? []).map((d) => [d.target, d.release]));
  const waitMs = (target.spec.dependsOnWaitSeconds ?? defaultDependsOnWaitSeconds) * 1000;
  const waits: string[] = [];
  for (const name of names) {
    const state = stateOf(name, seen.get(name) ?? null, now >= release.createdAt + waitMs);
    if (state.kind === 'failed') return abortFor(ctx, state.why);
    if (state.kind === 'waiting') waits.push(state.why);
  }
  if (waits.length === 0) return null;
  const reason = `waiting for ${waits.join(', ')} (release train ${release.tag})`;
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
