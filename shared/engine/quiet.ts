// When a step that only looked (no claim held) writes nothing: the rule the runtime's steps follow
// and the model checks, kept once. Pure.
import { canonicalJson } from '../kubernetes/revision.ts';
import type { Release, Workload } from './release.ts';

/**
 * Whether a decision made without a claim saw nothing new: no commands, no change of the release
 * beyond its seq, time stamps and next wake-up, and that wake-up inside the horizon the last commit
 * set (wake.pollUntil). Then the step writes nothing and hands over the next look itself.
 */
export function quietly(
  release: Release,
  workload: Workload,
  decision: { release: Release; commands: unknown[]; workload: Workload },
): boolean {
  if (canonicalJson(workload) !== canonicalJson(decision.workload)) return false;
  const next = decision.release;
  if (decision.commands.length > 0 || !next.wake) return false;
  const horizon = release.wake?.pollUntil;
  if (!horizon || next.wake.at > horizon || next.wake.step !== release.wake?.step) return false;
  const plain = (r: Release) => canonicalJson({ ...r, seq: 0, updatedAt: 0, wake: null, lease: null });
  return plain(release) === plain(next);
}
