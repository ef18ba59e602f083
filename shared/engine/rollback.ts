// Rollback (RollingBack, after an abort or a failure): traffic back on the stable revision, scaled up
// first if a release had shrunk it, then the new revision handed to the release's cleanup
// (decideCleanup), which scales it down (abort) or removes it (failure) once drained. Blue-green and
// canary differ only in what carries the traffic (a Service, or the routes); the end is one. Pure.
import type { Command } from './commands.ts';
import {
  type Decision,
  endFor,
  go,
  poll,
  type RunningContext,
  ready,
  restored,
  selectedRevision,
  wait,
} from './kernel.ts';
import type { Phase } from './phase.ts';
import type { Release, RevisionRef } from './release.ts';
import { type CanaryStrategy, strategyOf } from './target.ts';

const outcomeOf = (release: Release): Phase => release.rollbackOutcome ?? 'RolledBack';

/** The stable revision back at the release's full size before it takes traffic again. */
function stableScaledUp(ctx: RunningContext, stable: RevisionRef): Decision | null {
  const { release } = ctx;
  const status = ctx.obs.snapshot.revisions[stable.revision];
  if (status && status.desired >= release.replicas) return null;
  const commands: Command[] = [
    { type: 'ScaleRevision', deployment: stable.deployment, replicas: release.replicas },
  ];
  return go(ctx, { wakeIn: poll(release, ctx.now) }, commands);
}

/** Blue-green: the active Service back on blue (scaled up and ready first), then green goes. */
export function rollBackBlueGreen(ctx: RunningContext): Decision {
  const { stable, candidate } = ctx.release;
  if (!stable || !candidate)
    return go(ctx, { phase: outcomeOf(ctx.release) }, [], endFor(ctx.workload, ctx.release));
  return activeBackOnBlue(ctx, stable, candidate) ?? endBlueGreenRollback(ctx, stable, candidate);
}

function activeBackOnBlue(ctx: RunningContext, stable: RevisionRef, candidate: RevisionRef): Decision | null {
  const { release, now } = ctx;
  const active = strategyOf(ctx.target).activeService;
  if (selectedRevision(ctx.obs.snapshot, active) === stable.revision) return null;
  const scaled = stableScaledUp(ctx, stable);
  if (scaled) return scaled;
  if (ctx.obs.snapshot.revisions[stable.revision]!.ready < release.replicas) {
    return go(ctx, { wakeIn: poll(release, now) });
  }
  const commands: Command[] = [
    { type: 'SelectRevision', service: active, revision: stable.revision },
    { type: 'MoveHpa', from: candidate.deployment, to: stable.deployment },
  ];
  return go(ctx, { wakeIn: poll(release, now) }, commands, restored(ctx.workload, stable));
}

function endBlueGreenRollback(ctx: RunningContext, stable: RevisionRef, candidate: RevisionRef): Decision {
  const bg = strategyOf(ctx.target);
  return endRollback(ctx, stable, candidate, {
    secondaryService: bg.previewService,
    finalizeRouter: false,
    delaySeconds: bg.abortScaleDownDelaySeconds,
    routed: false,
  });
}

/** Canary: all traffic back to stable at once (weight 0, header routes and canary objects removed). */
export function rollBackCanary(ctx: RunningContext, canary: CanaryStrategy): Decision {
  const stable = ctx.release.stable;
  const candidate = ctx.release.candidate;
  return (
    routesBackOnStable(ctx, canary, stable, candidate) ?? endCanaryRollback(ctx, canary, stable, candidate)
  );
}

function routesBackOnStable(
  ctx: RunningContext,
  canary: CanaryStrategy,
  stable: RevisionRef,
  candidate: RevisionRef,
): Decision | null {
  const { release, now, obs } = ctx;
  const named = selectedRevision(obs.snapshot, canary.stableService);
  const route = obs.route;
  const stableOnBlue = named === stable.revision;
  // Routes count as back on stable once the router reads weight 0 back and the data plane took it.
  if (stableOnBlue && !(route && (route.weight !== 0 || route.headerRoute || !route.accepted))) return null;
  const scaled = stableScaledUp(ctx, stable);
  if (scaled) return scaled;
  const taking = stableNotReady(ctx, canary, stable, named);
  if (taking) return taking;
  // Switched is what the cluster shows, not only what the record says: a promotion pass that
  // moved the stable Service and lost its commit has switched all the same.
  const switched = release.switchedAt !== null || named === candidate.revision;
  const commands: Command[] = [];
  if (!stableOnBlue) {
    commands.push({ type: 'SelectRevision', service: canary.stableService, revision: stable.revision });
  }
  commands.push({ type: 'FinalizeRouter', stableRevision: stable.revision });
  if (switched) commands.push({ type: 'MoveHpa', from: candidate.deployment, to: stable.deployment });
  const workload = switched ? restored(ctx.workload, stable) : ctx.workload;
  return go(ctx, { wakeIn: poll(release, now) }, commands, workload);
}

/**
 * Stable takes all the traffic back only once it can: its pods ready at full size, and (behind one
 * Service, replica ratio) listed as ready endpoints by the stable Service.
 */
function stableNotReady(
  ctx: RunningContext,
  canary: CanaryStrategy,
  stable: RevisionRef,
  named: string | undefined,
): Decision | null {
  const replicas = ctx.release.replicas;
  const status = ctx.obs.snapshot.revisions[stable.revision]!;
  const listedReady = ready(ctx.obs.endpoints[canary.stableService], stable.revision);
  const wide = named === undefined;
  if (status.ready >= replicas && (canary.trafficRouting || !wide || listedReady >= replicas)) return null;
  const shown = Math.min(status.ready, canary.trafficRouting ? status.ready : listedReady);
  return wait(ctx, `waiting for ${stable.deployment} to take the traffic back: ${shown}/${replicas} ready`);
}

function endCanaryRollback(
  ctx: RunningContext,
  canary: CanaryStrategy,
  stable: RevisionRef,
  candidate: RevisionRef,
): Decision {
  // The canary Service goes back to stable too, so nothing names the canary revision when it goes,
  // and the router's own objects (a canary Ingress left at weight 0) are removed.
  return endRollback(ctx, stable, candidate, {
    secondaryService: canary.canaryService,
    finalizeRouter: Boolean(canary.trafficRouting),
    delaySeconds: canary.abortScaleDownDelaySeconds,
    routed: true,
  });
}

/**
 * The end of every rollback, one for both strategies: the second Service (preview, or canary) back
 * on stable, the router's own objects removed, and the new revision handed to the cleanup
 * (decideCleanup), which acts after abortScaleDownDelaySeconds and once it is drained: scaled down
 * after an abort (kept for a retry), deleted after a failure.
 */
function endRollback(
  ctx: RunningContext,
  stable: RevisionRef,
  candidate: RevisionRef,
  how: { secondaryService?: string; finalizeRouter: boolean; delaySeconds: number; routed: boolean },
): Decision {
  const { release, now } = ctx;
  const outcome = outcomeOf(release);
  const commands: Command[] = [];
  const secondary = how.secondaryService;
  if (secondary && selectedRevision(ctx.obs.snapshot, secondary) === candidate.revision) {
    commands.push({ type: 'SelectRevision', service: secondary, revision: stable.revision });
  }
  if (how.finalizeRouter) commands.push({ type: 'FinalizeRouter', stableRevision: stable.revision });
  const action = outcome === 'Aborted' ? ('scale-down' as const) : ('delete' as const);
  const cleanup = { deployment: candidate.deployment, at: now + how.delaySeconds * 1000, action };
  const patch = how.routed ? { cleanup, cleanupRouted: true } : { cleanup };
  return go(ctx, { phase: outcome, patch }, commands, endFor(ctx.workload, release));
}
