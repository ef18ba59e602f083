// The canary strategy (Argo Rollouts' canary semantics): after the canary revision is up, the steps
// run in order (canary-steps.ts) with a background analysis beside them; then promotion moves the
// stable Service to the new revision and returns every route to 100/0. Abort or failed analysis:
// weight 0 at once, canary objects removed, stable untouched (rollback.ts). Adoption, creating the
// canary revision (start.ts) and the scale-down (bluegreen.ts) are shared with blue-green. Pure.
import { advanceRun } from '../analysis/run.ts';
import { backgroundWake } from './analysis.ts';
import {
  type Canary,
  canaryOf,
  canaryRollBack,
  canaryWait,
  initialCanaryState,
  scaleCanary,
  withState,
} from './canary-state.ts';
import { progressing } from './canary-steps.ts';
import type { Command } from './commands.ts';
import { scaleDownWake } from './drain.ts';
import {
  type Decision,
  go,
  keep,
  overdue,
  poll,
  promoted,
  type RunningContext,
  selectedRevision,
} from './kernel.ts';
import type { Phase } from './phase.ts';
import type { CanaryStrategy } from './target.ts';
import { awaitingDependencies, trainFailed } from './trains.ts';

const phases: Partial<Record<Phase, (c: Canary) => Decision>> = {
  DeployingGreen: deployingCanary,
  AwaitingDependencies: awaitingTrain,
  Progressing: progressing,
  AwaitingPromotion: awaitingPromotion,
  Switching: promoting,
};

/** The steps of a canary release from the moment its revision exists until it switches. */
export function decideCanary(ctx: RunningContext, canary: CanaryStrategy): Decision {
  const phase = phases[ctx.release.phase];
  return phase ? phase(canaryOf(ctx, canary)) : keep(ctx);
}

/** DeployingGreen: the canary revision ready, the split's ground cleared, the canary Service on it. */
function deployingCanary(c: Canary): Decision {
  return trainFailed(c) ?? canaryUp(c) ?? othersGone(c) ?? awaitingDependencies(c) ?? canaryServiceOn(c);
}

/** AwaitingDependencies (release trains): the first weight step only once the dependencies switched. */
function awaitingTrain(c: Canary): Decision {
  return trainFailed(c) ?? canaryUp(c) ?? awaitingDependencies(c) ?? canaryServiceOn(c);
}

function canaryUp(c: Canary): Decision | null {
  const { status, candidate } = c;
  const wanted = status?.desired ?? 0;
  if (status?.progressDeadlineExceeded || overdue(c)) {
    return canaryRollBack(
      c,
      `canary revision ${candidate.deployment} did not become ready within ${c.target.spec.progressDeadlineSeconds} s${status?.problem ? `: ${status.problem}` : ''}`,
    );
  }
  if (!status?.exists || status.ready < wanted) {
    return canaryWait(c, `waiting for ${candidate.deployment}: ${status?.ready ?? 0}/${wanted} ready`);
  }
  return null;
}

/**
 * Behind one Service (replica ratio), a third revision still running (a superseded canary on its
 * way out) would take part of the split: it goes first.
 */
function othersGone(c: Canary): Decision | null {
  if (!c.routerNone) return null;
  const others = Object.values(c.obs.snapshot.revisions).filter(
    (r) => r.revision !== c.stable.revision && r.revision !== c.candidate.revision && r.desired > 0,
  );
  if (others.length === 0) return null;
  return canaryWait(
    c,
    `waiting for ${others.map((r) => r.name).join(', ')} to be scaled down before the split`,
  );
}

/**
 * The canary Service takes the new revision only while no route sends it anything: the reset to
 * weight 0 made in Pending must read back, accepted by the data plane. Then the steps start.
 */
function canaryServiceOn(c: Canary): Decision {
  const { canary, candidate, route } = c;
  const commands: Command[] = [{ type: 'PrepareRouter' }];
  if (!c.routerNone && selectedRevision(c.obs.snapshot, canary.canaryService) !== candidate.revision) {
    const quiet = route?.accepted && route.weight === 0 && !route.headerRoute;
    if (!quiet) {
      return canaryWait(
        c,
        `waiting for the routes to send nothing to ${canary.canaryService} before it selects ${candidate.revision}${route?.message ? `: ${route.message}` : ''}`,
      );
    }
    commands.push({ type: 'SelectRevision', service: canary.canaryService, revision: candidate.revision });
  }
  const patch = { canary: initialCanaryState(c.now) };
  return go(c, { phase: 'Progressing', reason: null, wakeIn: poll(c.release, c.now), patch }, commands);
}

/** Waits for promote or abort; the background analysis goes on meanwhile. */
function awaitingPromotion(c: Canary): Decision {
  const running = c.state.background;
  if (!c.canary.analysis || running?.phase !== 'Running') return keep(c);
  const background = advanceRun(running, c.obs.measurements?.background ?? {}, c.now);
  if (background.phase === 'Failed') {
    return canaryRollBack(c, `background analysis failed: ${background.message}`, { background });
  }
  return go(c, { wakeIn: backgroundWake(background, c.now), patch: withState(c, { background }) });
}

/** Switching (promotion): the canary at full size, the stable Service on it, every route at 100/0. */
function promoting(c: Canary): Decision {
  if (!c.status?.exists) return canaryRollBack(c, `canary revision ${c.candidate.deployment} disappeared`);
  return canaryFull(c) ?? stableSwitched(c) ?? stableListsCanary(c) ?? toScaleDown(c);
}

function canaryFull(c: Canary): Decision | null {
  const { status, total, candidate } = c;
  if (status!.desired < total) return scaleCanary(c, total);
  if (status!.ready >= total) return null;
  if (overdue(c))
    return canaryRollBack(c, `canary revision ${candidate.deployment} did not reach ${total} ready replicas`);
  return canaryWait(c, `waiting for ${candidate.deployment}: ${status!.ready}/${total} ready`);
}

function stableSwitched(c: Canary): Decision | null {
  const { canary, candidate, stable, release } = c;
  const named = selectedRevision(c.obs.snapshot, canary.stableService);
  if (named === candidate.revision && release.switchedAt !== null) return null;
  const commands: Command[] = c.routerNone
    ? [{ type: 'FinalizeRouter', stableRevision: candidate.revision }]
    : [
        { type: 'SelectRevision', service: canary.stableService, revision: candidate.revision },
        { type: 'FinalizeRouter', stableRevision: candidate.revision },
      ];
  // The canary Service follows stable, so nothing names the old revision when it goes.
  commands.push({ type: 'SelectRevision', service: canary.canaryService, revision: candidate.revision });
  commands.push({ type: 'MoveHpa', from: stable.deployment, to: candidate.deployment });
  const change = { reason: `promoted ${candidate.revision} to stable`, wakeIn: poll(release, c.now) };
  return go(
    c,
    { ...change, patch: { switchedAt: c.now } },
    commands,
    promoted(c.workload, stable, candidate),
  );
}

/** The replica-ratio router reads the new revision's share, which is now all of it. */
function stableListsCanary(c: Canary): Decision | null {
  const { canary, candidate, route, total } = c;
  const stable = c.obs.endpoints[canary.stableService];
  const routesSettled = c.routerNone || !route || (route.weight === 0 && route.accepted);
  if ((stable?.readyByRevision[candidate.revision] ?? 0) >= total && routesSettled) return null;
  if (overdue(c)) {
    return canaryRollBack(
      c,
      `${canary.stableService} did not list ${total} ready endpoints of ${candidate.deployment} with the routes settled within ${c.target.spec.progressDeadlineSeconds} s${route?.message ? ` (${route.message})` : ''}`,
    );
  }
  return canaryWait(
    c,
    `waiting for ${canary.stableService} to list ${total} ready endpoints of ${candidate.deployment}`,
  );
}

function toScaleDown(c: Canary): Decision {
  return go(c, { phase: 'ScalingDown', reason: null, wakeIn: scaleDownWake(c.target, 0) });
}
