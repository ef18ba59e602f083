// Finding what a command names: a target, or a release by id. Unknown names end the command with
// exit code 2 and a message that says which command lists the right names.
import type { Store } from '../shared/adapters/store.ts';
import type { Release, Workload } from '../shared/engine/release.ts';
import type { EngineTarget } from '../shared/engine/target.ts';
import { nameNotFound, releaseNotFound, targetNotFound } from './exit-codes.ts';

export type Found =
  | { kind: 'target'; target: EngineTarget; workload: Workload; release: Release | null }
  | { kind: 'release'; release: Release; target: EngineTarget | null; workload: Workload | null };

/** The release a target is about now: in flight, else queued, else its last one. */
export function currentReleaseId(workload: Workload): string | null {
  return workload.inFlight ?? workload.queued ?? workload.lastRelease;
}

/** A target (with its current release), else a release; throws a CliError (exit 2) for neither. */
export async function lookup(store: Store, name: string): Promise<Found> {
  const target = await store.target(name);
  if (target) {
    const workload = await store.workload(name);
    const id = currentReleaseId(workload);
    return { kind: 'target', target, workload, release: id ? await store.release(id) : null };
  }
  const release = await store.release(name);
  if (release) {
    const owner = await store.target(release.target);
    return {
      kind: 'release',
      release,
      target: owner,
      workload: owner ? await store.workload(release.target) : null,
    };
  }
  // `api-7` of a target `api` that exists: the release number is what is wrong.
  const dash = name.lastIndexOf('-');
  if (dash > 0 && /^\d+$/.test(name.slice(dash + 1)) && (await store.target(name.slice(0, dash)))) {
    throw releaseNotFound(name, name.slice(0, dash));
  }
  throw nameNotFound(name);
}

/** A target that must exist (control commands, list --target). */
export async function requireTarget(store: Store, name: string): Promise<EngineTarget> {
  const target = await store.target(name);
  if (!target) throw targetNotFound(name);
  return target;
}
