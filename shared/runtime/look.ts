// A step that will only look at the cluster (no analysis to measure, no claim held, a valid target)
// reads its release without a claim: look() reads it, and engine/quiet.ts says whether what it then
// decided saw nothing new, in which case the step writes nothing and hands over the next look.
// Otherwise the step claims the release (lease.ts) before it writes anything.
import { toEngineTarget } from '../adapters/store.ts';
import type { Release } from '../engine/release.ts';
import type { EngineTarget } from '../engine/target.ts';
import type { StepMessage } from '../messages.ts';
import type { Deps } from './deps.ts';
import { storedTargetProblems } from './lease.ts';
import { runningRuns } from './measure.ts';

/**
 * Reads the release for a step that will only look at the cluster: no claim is written. Null when
 * the step must claim first (analysis to measure, a claim held, a target to check) — claim() then
 * decides; 'stale' for an older seq.
 */
export async function look(
  d: Deps,
  msg: StepMessage,
): Promise<{ release: Release; target: EngineTarget } | 'stale' | null> {
  const release = await d.store.release(msg.releaseId);
  if (!release) return null;
  if (release.seq !== msg.seq) return 'stale';
  if (
    (release.attempts?.count ?? 0) > 0 ||
    (release.lease && release.lease.until > d.now()) ||
    runningRuns(release).length > 0 ||
    !release.wake?.pollUntil
  )
    return null;
  const stored = await d.store.db.doc(d.store.targetRef(release.target).path).get();
  if (!stored.exists || storedTargetProblems(release.target, stored.data()!)) return null;
  return { release: { ...release, lease: null }, target: toEngineTarget(release.target, stored.data()!) };
}
