// Release trains (SPEC §10) as the CLI shows them: the members of a version's train in dependency
// order, each with its release of the version, its phase and what it waits for. Pure: built from the
// stored targets and their recent releases.
import { isTerminal, type Phase } from '../../shared/engine/phase.ts';
import type { Release } from '../../shared/engine/release.ts';
import { connected, inTrain, type TrainTarget, trainDepths } from '../../shared/engine/train-graph.ts';
import { trainVersion } from '../../shared/engine/trains.ts';
import { age, localIso, table } from '../output.ts';

export type { TrainTarget };

export interface TrainMember {
  target: string;
  /** 1 for targets that depend on no other member, then one more than the deepest dependency. */
  order: number;
  dependsOn: string[];
  release: {
    id: string;
    phase: Phase;
    tag: string | null;
    reason: string | null;
    createdAt: number;
    switchedAt: number | null;
    updatedAt: number;
  } | null;
}

export interface TrainView {
  version: string;
  members: TrainMember[];
  /** Every member with a release of the version has ended. */
  ended: boolean;
}

/**
 * The train of `version`: every target connected through dependsOn to one with a release of the
 * version, in dependency order (ties by name). Null when no target has a release of it.
 */
export function buildTrain(
  version: string,
  targets: readonly TrainTarget[],
  releasesOf: ReadonlyMap<string, readonly Release[]>,
): TrainView | null {
  const ofVersion = new Map<string, Release>();
  for (const t of targets) {
    const r = (releasesOf.get(t.name) ?? []).find((x) => trainVersion(x) === version);
    if (r) ofVersion.set(t.name, r);
  }
  if (ofVersion.size === 0) return null;
  const names = connected([...ofVersion.keys()], targets);
  const byName = new Map(targets.map((t) => [t.name, t]));
  const order = trainDepths(names, targets);
  const members = [...names]
    .map((n): TrainMember => {
      const r = ofVersion.get(n);
      return {
        target: n,
        order: order.get(n) ?? 1,
        dependsOn: (byName.get(n)?.dependsOn ?? []).filter((d) => names.has(d)),
        release: r
          ? {
              id: r.id,
              phase: r.phase,
              tag: r.tag ?? null,
              reason: r.reason,
              createdAt: r.createdAt,
              switchedAt: r.switchedAt,
              updatedAt: r.updatedAt,
            }
          : null,
      };
    })
    .sort((a, b) => a.order - b.order || a.target.localeCompare(b.target));
  const ended = members.every((m) => !m.release || isTerminal(m.release.phase));
  return { version, members, ended };
}

/**
 * The versions with a release of a target that is in a train (it depends on a target, or one
 * depends on it), newest first, at most `limit`.
 */
export function trainVersions(
  targets: readonly TrainTarget[],
  releasesOf: ReadonlyMap<string, readonly Release[]>,
  limit = 20,
): { version: string; newest: number }[] {
  const newest = new Map<string, number>();
  for (const t of targets) {
    if (!inTrain(t.name, targets)) continue;
    for (const r of releasesOf.get(t.name) ?? []) {
      const v = trainVersion(r);
      if (v) newest.set(v, Math.max(newest.get(v) ?? 0, r.createdAt));
    }
  }
  return [...newest]
    .map(([version, at]) => ({ version, newest: at }))
    .sort((a, b) => b.newest - a.newest)
    .slice(0, limit);
}

/** The train as text: one line per member, in the order they switch. */
export function drawTrain(view: TrainView, now: number): string {
  const switched = view.members.filter((m) => m.release?.switchedAt).length;
  const head = `release train ${view.version}: ${view.members.length} target(s), ${switched} switched${view.ended ? ', ended' : ''}`;
  const rows = view.members.map((m) => {
    const r = m.release;
    return [
      String(m.order),
      m.target,
      r?.id ?? '-',
      r?.phase ?? 'no release of this version',
      r?.switchedAt ? localIso(r.switchedAt) : '-',
      m.dependsOn.join(',') || '-',
      r ? detail(r, now) : '',
    ];
  });
  return `${head}\n${table(['ORDER', 'TARGET', 'RELEASE', 'PHASE', 'SWITCHED', 'DEPENDS-ON', 'DETAIL'], rows)}`;
}

function detail(r: NonNullable<TrainMember['release']>, now: number): string {
  const since = `${age(r.updatedAt, now)} ago`;
  return r.reason ? `${r.reason} (${since})` : since;
}
