// Rollback (RollingBack, after an abort or a failure): traffic back on the stable revision, scaled up
// first if a release had shrunk it, then the new revision handed to the release's cleanup
// (decideCleanup), which removes it once drained. Blue-green and canary differ in what carries the
// traffic (a Service, or the routes) and in what the cleanup does. Pure.
import type { Command } from './commands.ts';
import { type Decision, endFor, go, poll, ready, restored, type StepContext, wait } from './kernel.ts';
import type { Phase, Release, RevisionRef } from './release.ts';
import { type CanaryStrategy, strategyOf } from './target.ts';

const outcomeOf = (release: Release): Phase => release.rollbackOutcome ?? 'RolledBack';
const revisionLabel = 'switchyard.dev/revision';

/** The stable revision back at the release's full size before it takes traffic again. */
function stableScaledUp(ctx: StepContext, stable: RevisionRef): Decision | null {
  const { release } = ctx;
  const status = ctx.obs.snapshot.revisions[stable.revision];
  if (status && status.desired >= release.replicas) return null;
  const commands: Command[] = [
    { type: 'ScaleRevision', deployment: stable.deployment, replicas: release.replicas },
  ];
  return go(ctx, { wakeIn: poll(release, ctx.now) }, commands);
}

/** Blue-green: the active Service back on blue (scaled up and ready first), then green goes. */
export function rollBackBlueGreen(ctx: StepContext): Decision {
  const { blue, green } = ctx.release;
  if (!blue || !green)
    return go(ctx, { phase: outcomeOf(ctx.release) }, [], endFor(ctx.workload, ctx.release));
  return activeBackOnBlue(ctx, blue, green) ?? endBlueGreenRollback(ctx, blue, green);
}

function activeBackOnBlue(ctx: StepContext, blue: RevisionRef, green: RevisionRef): Decision | null {
  const { release, now } = ctx;
  const active = strategyOf(ctx.target).activeService;
  const selector = ctx.obs.snapshot.services[active]?.selector ?? {};
  if (selector[revisionLabel] === blue.revision) return null;
  const scaled = stableScaledUp(ctx, blue);
  if (scaled) return scaled;
  if (ctx.obs.snapshot.revisions[blue.revision]!.ready < release.replicas) {
    return go(ctx, { wakeIn: poll(release, now) });
  }
  const commands: Command[] = [
    { type: 'SelectRevision', service: active, revision: blue.revision },
    { type: 'MoveHpa', from: green.deployment, to: blue.deployment },
  ];
  return go(ctx, { wakeIn: poll(release, now) }, commands, restored(ctx.workload, blue));
}

/**
 * The preview Service back on blue; green goes after abortScaleDownDelaySeconds and once drained
 * (decideCleanup): kept scaled down after an abort (for retry), removed after a failure.
 */
function endBlueGreenRollback(ctx: StepContext, blue: RevisionRef, green: RevisionRef): Decision {
  const { release, now } = ctx;
  const bg = strategyOf(ctx.target);
  const outcome = outcomeOf(release);
  const commands: Command[] = [];
  const preview = bg.previewService;
  if (preview && ctx.obs.snapshot.services[preview]?.selector[revisionLabel] === green.revision) {
    commands.push({ type: 'SelectRevision', service: preview, revision: blue.revision });
  }
  const at = now + bg.abortScaleDownDelaySeconds * 1000;
  const action = outcome === 'Aborted' ? 'scale-down' : 'delete';
  const patch = { cleanup: { deployment: green.deployment, at, action } as const };
  return go(ctx, { phase: outcome, patch }, commands, endFor(ctx.workload, release));
}

/**
 * Canary: all traffic back to stable at once (weight 0, header routes and canary objects removed),
 * then the canary revision removed — after abortScaleDownDelaySeconds for an abort.
 */
export function rollBackCanary(ctx: StepContext, canary: CanaryStrategy): Decision {
  const blue = ctx.release.blue!;
  const green = ctx.release.green!;
  return routesBackOnStable(ctx, canary, blue, green) ?? endCanaryRollback(ctx, canary, blue, green);
}

function routesBackOnStable(
  ctx: StepContext,
  canary: CanaryStrategy,
  blue: RevisionRef,
  green: RevisionRef,
): Decision | null {
  const { release, now, obs } = ctx;
  const selector = obs.snapshot.services[canary.stableService]?.selector ?? {};
  const route = obs.route;
  const stableOnBlue = selector[revisionLabel] === blue.revision;
  // Routes count as back on stable once the router reads weight 0 back and the data plane took it.
  if (stableOnBlue && !(route && (route.weight !== 0 || route.headerRoute || !route.accepted))) return null;
  const scaled = stableScaledUp(ctx, blue);
  if (scaled) return scaled;
  const taking = stableNotReady(ctx, canary, blue, selector);
  if (taking) return taking;
  // Switched is what the cluster shows, not only what the record says: a promotion pass that
  // moved the stable Service and lost its commit has switched all the same.
  const switched = release.switchedAt !== null || selector[revisionLabel] === green.revision;
  const commands: Command[] = [];
  if (!stableOnBlue) {
    commands.push({ type: 'SelectRevision', service: canary.stableService, revision: blue.revision });
  }
  commands.push({ type: 'FinalizeRouter', stableRevision: blue.revision });
  if (switched) commands.push({ type: 'MoveHpa', from: green.deployment, to: blue.deployment });
  const workload = switched ? restored(ctx.workload, blue) : ctx.workload;
  return go(ctx, { wakeIn: poll(release, now) }, commands, workload);
}

/**
 * Stable takes all the traffic back only once it can: its pods ready at full size, and (behind one
 * Service, replica ratio) listed as ready endpoints by the stable Service.
 */
function stableNotReady(
  ctx: StepContext,
  canary: CanaryStrategy,
  blue: RevisionRef,
  selector: Record<string, string>,
): Decision | null {
  const replicas = ctx.release.replicas;
  const status = ctx.obs.snapshot.revisions[blue.revision]!;
  const listedReady = ready(ctx.obs.endpoints[canary.stableService], blue.revision);
  const wide = selector[revisionLabel] === undefined;
  if (status.ready >= replicas && (canary.trafficRouting || !wide || listedReady >= replicas)) return null;
  const shown = Math.min(status.ready, canary.trafficRouting ? status.ready : listedReady);
  return wait(ctx, `waiting for ${blue.deployment} to take the traffic back: ${shown}/${replicas} ready`);
}

/**
 * The canary Service goes back to stable too, so nothing names the canary revision when it goes,
 * and the router's own objects (a canary Ingress left at weight 0) are removed. The canary revision
 * goes after abortScaleDownDelaySeconds, once drained (decideCleanup).
 */
function endCanaryRollback(
  ctx: StepContext,
  canary: CanaryStrategy,
  blue: RevisionRef,
  green: RevisionRef,
): Decision {
  const { release, now } = ctx;
  const commands: Command[] = [];
  if (ctx.obs.snapshot.services[canary.canaryService]?.selector[revisionLabel] === green.revision) {
    commands.push({ type: 'SelectRevision', service: canary.canaryService, revision: blue.revision });
  }
  if (canary.trafficRouting) commands.push({ type: 'FinalizeRouter', stableRevision: blue.revision });
  const at = now + canary.abortScaleDownDelaySeconds * 1000;
  const patch = {
    cleanup: { deployment: green.deployment, at, action: 'delete' as const },
    cleanupRouted: true,
  };
  return go(ctx, { phase: outcomeOf(release), patch }, commands, endFor(ctx.workload, release));
}
