// Finding what a command names: a target, or a release by id. Unknown names end the command with
// exit code 2 and a message that says which command lists the right names.
import type { Store } from '../shared/adapters/store.ts';
import type { Release, Workload } from '../shared/engine/release.ts';
import type { EngineTarget } from '../shared/engine/target.ts';
import { releaseId } from '../shared/messages.ts';
import { targetName } from '../shared/target/names.ts';
import { CliError, exitCodes, nameNotFound, releaseNotFound, targetNotFound } from './exit-codes.ts';

export type Found =
  | { kind: 'target'; target: EngineTarget; workload: Workload; release: Release | null }
  | { kind: 'release'; release: Release; target: EngineTarget | null; workload: Workload | null };

/** The release a target is about now: in flight, else queued, else its last one. */
export function currentReleaseId(workload: Workload): string | null {
  return workload.inFlight ?? workload.queued ?? workload.lastRelease;
}

/**
 * Throws a CliError (exit 2) saying what a name may be when `name` cannot name a `kind`: such a
 * name is never looked up (a "/" in it would name a document of another collection).
 */
export function checkName(name: string, kind: 'target' | 'release' | 'target or release' = 'target'): void {
  const asTarget = targetName.safeParse(name);
  if (kind !== 'release' && asTarget.success) return;
  const asRelease = releaseId.safeParse(name);
  if (kind !== 'target' && asRelease.success) return;
  const why =
    kind === 'target'
      ? `a target name ${asTarget.error?.issues[0]?.message ?? ''}`
      : (asRelease.error?.issues[0]?.message ?? '');
  const list = kind === 'release' ? '`switchyard list` lists releases' : '`switchyard targets` lists targets';
  throw new CliError(
    exitCodes.invalidInput,
    `${JSON.stringify(name)} is not a ${kind === 'release' ? 'release id' : `${kind} name`}: ${why}; ${list}`,
  );
}

/** A target (with its current release), else a release; throws a CliError (exit 2) for neither. */
export async function lookup(store: Store, name: string): Promise<Found> {
  checkName(name, 'target or release');
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
  checkName(name);
  const target = await store.target(name);
  if (!target) throw targetNotFound(name);
  return target;
}
