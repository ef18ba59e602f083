// Release trains at run time: a member's release of a version is found by its target and version,
// and when a release switches past its checks, rolls back or ends, the releases of the same version
// of the targets next to it in the train (what it depends on, what depends on it) are woken at
// once, instead of each one polling for it. A wake-up is the woken release's own pending step,
// published early (same step, same seq): a release that has moved on meanwhile drops it as stale,
// and the waits keep a slow look of their own (trainBackstopMs) for a wake-up that was lost.
import { isTerminal } from '../engine/phase.ts';
import type { Release } from '../engine/release.ts';
import { trainVersion, wakesTrain } from '../engine/trains.ts';
import type { Deps } from './deps.ts';
import { publishStep } from './wake.ts';

/** The newest release of `target` of `version` (among its last 20). */
export async function releaseOfVersion(
  d: Deps,
  target: string,
  version: string,
): Promise<Release | undefined> {
  return (await d.store.releasesOf(target, 20)).find((r) => trainVersion(r) === version);
}

/**
 * Wakes the in-flight releases of the same version next to `release` in its train when one of its
 * history entries from index `from` on is a transition they act on. Best effort: a failure is
 * logged; the woken releases would look by themselves a little later.
 */
export async function wakeTrain(d: Deps, release: Release, from: number): Promise<void> {
  const version = trainVersion(release);
  if (!release.inTrain) return;
  const acted = release.history.slice(from).some((h) => wakesTrain(h.from, h.to));
  if (!version || !acted) return;
  try {
    const [target, dependents] = await Promise.all([
      d.store.target(release.target),
      d.store.dependentsOf(release.target),
    ]);
    const next = new Set([...(target?.spec.dependsOn ?? []), ...dependents.map((t) => t.name)]);
    await Promise.all(
      [...next].map(async (name) => {
        const other = await releaseOfVersion(d, name, version);
        if (!other?.wake || isTerminal(other.phase)) return;
        await publishStep(d, other, other.wake);
      }),
    );
  } catch (err) {
    d.log.warn(`release train ${version}: could not wake the members next to ${release.id}: ${String(err)}`, {
      releaseId: release.id,
    });
  }
}
