// What is cleaned up after a release: its own new revision once it has ended (decideCleanup), and
// what the sweep cleans up once no release is in flight. Old revisions beyond revisionHistoryLimit
// (SPEC §3) go: everything but the stable revision and the newest `limit` earlier ones, and never one
// that a Service selects or that still has replicas. And revisions left running that nothing needs
// are scaled down first (see revisionsToScaleDown). Pure.
import type { WorkloadSnapshot } from '../kubernetes/types.ts';
import type { Command } from './commands.ts';
import {
  type Decision,
  go,
  keep,
  listed,
  pollMs,
  revisionNamedBy,
  type StepContext,
  selectedRevision,
} from './kernel.ts';
import { isTerminal } from './phase.ts';
import type { Release, Workload } from './release.ts';
import { servicesOf, strategyOf } from './target.ts';

const selectedBy = (snapshot: WorkloadSnapshot) =>
  new Set(
    Object.values(snapshot.services)
      .map(revisionNamedBy)
      .filter((r): r is string => r !== undefined),
  );

/**
 * Revisions still running that nothing needs: not the stable one, not a Service's, not one a
 * release's own delayed cleanup is waiting to remove (`pending`, Deployment names). What a step
 * whose commit was lost created, or an adoption given up half way left, ends up here. The sweep
 * scales them to 0 through the serving guard, which refuses while one still serves.
 */
export function revisionsToScaleDown(
  workload: Workload,
  snapshot: WorkloadSnapshot,
  pending: string[],
): string[] {
  if (workload.inFlight) return [];
  const selected = selectedBy(snapshot);
  return Object.values(snapshot.revisions)
    .filter(
      (r) =>
        r.exists &&
        r.desired > 0 &&
        r.revision !== workload.stable?.revision &&
        !selected.has(r.revision) &&
        !pending.includes(r.name),
    )
    .map((r) => r.name)
    .sort();
}

/**
 * At rest after a release that ended without switching: the stable revision back at the full size
 * that release knew, when it is smaller. A replica-ratio canary shrinks the stable revision while
 * it runs; one given up goes back to full size itself, but one superseded half way leaves that to
 * its successor, and a successor aborted before it started leaves it undone (its `replicas` is the
 * full size it took over). Once per ended release: the sweep cleans a workload once after each.
 */
export function stableToFullSize(
  workload: Workload,
  snapshot: WorkloadSnapshot,
  last: Release | null,
): Command[] {
  const stable = workload.stable;
  if (workload.inFlight || !stable || !last || !isTerminal(last.phase) || last.switchedAt !== null) return [];
  const status = snapshot.revisions[stable.revision];
  if (!status?.exists || status.desired >= last.replicas) return [];
  return [{ type: 'ScaleRevision', deployment: stable.deployment, replicas: last.replicas }];
}

/**
 * At rest (no release in flight) every Service of the target selects the stable revision: a
 * preview or canary Service left on another revision (by a step whose commit was lost) is moved
 * back, each move conditioned on it still naming that revision, so the revision it held can go;
 * an active Service left wide is narrowed. Only once the stable revision has a ready pod. An active
 * Service naming another revision is drift, for a release to report, not for the sweep to undo.
 */
export function servicesToSettle(
  workload: Workload,
  snapshot: WorkloadSnapshot,
  activeService: string,
): Command[] {
  const stable = workload.stable;
  const status = stable ? snapshot.revisions[stable.revision] : undefined;
  if (workload.inFlight || !stable || !status || status.ready === 0) return [];
  return Object.entries(snapshot.services).flatMap(([service, s]): Command[] => {
    if (!s) return [];
    const named = revisionNamedBy(s);
    if (named === stable.revision) return [];
    if (service !== activeService) {
      return named === undefined
        ? []
        : [{ type: 'SelectRevision', service, revision: stable.revision, onlyFrom: named }];
    }
    // The active Service left wide (a replica-ratio canary given up half way, its successor
    // aborted before it ran) is narrowed to stable once stable is ready at its full size.
    return named === undefined && status.ready >= Math.max(1, status.desired)
      ? [{ type: 'SelectRevision', service, revision: stable.revision }]
      : [];
  });
}

export function revisionsToRemove(workload: Workload, snapshot: WorkloadSnapshot, limit: number): string[] {
  const keep = new Set<string>();
  if (workload.stable) keep.add(workload.stable.revision);
  for (const p of workload.previous.slice(0, limit)) keep.add(p.revision);
  const selected = selectedBy(snapshot);
  return Object.values(snapshot.revisions)
    .filter((r) => !keep.has(r.revision) && !selected.has(r.revision) && r.desired === 0)
    .map((r) => r.name)
    .sort();
}

/** A release's cleanup as it runs: the revision it removes, found by its Deployment's name. */
interface Cleanup extends StepContext {
  cleanup: NonNullable<Release['cleanup']>;
  revision: string;
}

/**
 * A release that ended with work left on its new revision (abort, rollback, supersede) does it when
 * due: Services other than the serving one that still name the revision go back to the stable one
 * (a superseded canary's routes first), then it waits until no Service of the target lists the
 * revision's endpoints, then scales it to zero (and deletes it, for action 'delete'). A revision
 * that serves, or that another release works with, is left in place.
 */
export function decideCleanup(ctx: StepContext): Decision {
  const cleanup = ctx.release.cleanup;
  if (!cleanup || ctx.now < cleanup.at) return keep(ctx);
  const revisions = Object.values(ctx.obs.snapshot.revisions);
  const revision = revisions.find((r) => r.name === cleanup.deployment)?.revision;
  if (revision === undefined) return cleanupDone(ctx, [], ctx.release.reason);
  const c: Cleanup = { ...ctx, cleanup, revision };
  return leftInUse(c) ?? trafficMovedOff(c) ?? stillListed(c) ?? soleBackend(c) ?? removed(c);
}

function cleanupDone(ctx: StepContext, commands: Command[], reason: string | null): Decision {
  return go(ctx, { reason, cause: 'cleanup', patch: { cleanup: null } }, commands);
}

/** Looks again in a moment (the cleanup's own timer: the release has ended). */
function cleanupLater(c: Cleanup, reason: string, commands: Command[] = []): Decision {
  const patch = { cleanup: { ...c.cleanup, at: c.now + pollMs } };
  return go(c, { reason, cause: 'cleanup', patch }, commands);
}

const names = (c: Cleanup, service: string) => selectedRevision(c.obs.snapshot, service) === c.revision;

function leftInUse(c: Cleanup): Decision | null {
  const { workload, cleanup } = c;
  const inUse =
    workload.stable?.deployment === cleanup.deployment ||
    workload.inFlightCandidate === cleanup.deployment ||
    names(c, strategyOf(c.target).activeService);
  return inUse ? cleanupDone(c, [], `left ${cleanup.deployment} in place: it is in use`) : null;
}

/**
 * The Services and routes belong to a newer release in flight, which moves them itself (and a
 * canary's routes go back to stable before it points the canary Service at its own revision); with
 * none in flight they are moved here: routes back to stable first, then the Services, each only if
 * it still names the revision when written (a newer release may be moving it at the same moment).
 */
function trafficMovedOff(c: Cleanup): Decision | null {
  const { release, workload } = c;
  const serving = strategyOf(c.target).activeService;
  const stable = workload.stable;
  const moves: Command[] = [];
  const newer = workload.inFlight !== null && workload.inFlight !== release.id;
  const stillBlue = release.stable && workload.stable?.revision === release.stable.revision;
  if (
    !newer &&
    stillBlue &&
    release.canary &&
    release.stable &&
    release.phase === 'Superseded' &&
    !release.cleanupRouted
  ) {
    moves.push({ type: 'FinalizeRouter', stableRevision: release.stable.revision });
  }
  for (const service of servicesOf(c.target)) {
    if (service !== serving && names(c, service) && stable) {
      moves.push({ type: 'SelectRevision', service, revision: stable.revision, onlyFrom: c.revision });
    }
  }
  if (moves.length === 0) return null;
  const next = cleanupLater(c, `moving traffic off ${c.cleanup.deployment} before it goes`, moves);
  const routed = moves.some((m) => m.type === 'FinalizeRouter');
  return routed ? { ...next, release: { ...next.release, cleanupRouted: true } } : next;
}

/**
 * Drained: no Service that has moved off the revision still lists it. A Service that selects the
 * whole workload (the replica-ratio router) keeps listing it while it runs; soleBackend lets it go
 * there as long as other revisions' endpoints are ready.
 */
function stillListed(c: Cleanup): Decision | null {
  const snap = c.obs.snapshot;
  const listedBy = servicesOf(c.target).filter(
    (s) => selectedRevision(snap, s) !== undefined && listed(c.obs.endpoints[s], c.revision) > 0,
  );
  if (listedBy.length === 0) return null;
  return cleanupLater(c, `waiting for ${listedBy.join(', ')} to stop listing ${c.cleanup.deployment}`);
}

/** …and a Service that selects the whole workload must have other ready endpoints to keep. */
function soleBackend(c: Cleanup): Decision | null {
  const snap = c.obs.snapshot;
  const soleBackendOf = servicesOf(c.target).filter((s) => {
    if (!snap.services[s] || revisionNamedBy(snap.services[s]) !== undefined) return false;
    const counts = c.obs.endpoints[s]?.readyByRevision ?? {};
    const others = Object.entries(counts).reduce((n, [r, k]) => (r === c.revision ? n : n + k), 0);
    return (counts[c.revision] ?? 0) > 0 && others === 0;
  });
  if (soleBackendOf.length === 0) return null;
  return cleanupLater(
    c,
    `waiting for ${soleBackendOf.join(', ')} to list ready endpoints besides ${c.cleanup.deployment}`,
  );
}

function removed(c: Cleanup): Decision {
  const { deployment, action } = c.cleanup;
  const commands: Command[] = [{ type: 'ScaleRevision', deployment, replicas: 0 }];
  if (action === 'delete') commands.push({ type: 'DeleteRevision', deployment });
  return cleanupDone(c, commands, c.release.reason);
}
