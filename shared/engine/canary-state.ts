// What every canary step works with: the canary context (the strategy, the two revisions, the
// canary's state and what the router reads back) and the decision builders that record the state
// with each wait, action and rollback. Pure.
import type { RevisionStatus } from '../kubernetes/types.ts';
import type { HeaderRoute, RouteState } from '../routers/router.ts';
import type { CanaryStep } from '../target/canary.ts';
import type { Command } from './commands.ts';
import { type Decision, go, poll, type RunningContext, rollBack } from './kernel.ts';
import type { CanaryState, Release, RevisionRef } from './release.ts';
import type { CanaryStrategy } from './target.ts';

/** Replicas the canary needs to carry `weight` % of `total` (maxSurge-like: stable keeps its size). */
export function canaryReplicasFor(total: number, weight: number): number {
  return Math.max(1, Math.ceil((total * weight) / 100));
}

export function headerRouteOf(
  step: Extract<CanaryStep, { setHeaderRoute: unknown }>['setHeaderRoute'],
): HeaderRoute {
  const match = step.match?.[0];
  return {
    name: step.name,
    ...(match ? { header: { name: match.headerName, value: match.headerValue.exact } } : {}),
    ...(step.cookie ? { cookie: step.cookie } : {}),
  };
}

export const sameRoute = (a: HeaderRoute | null | undefined, b: HeaderRoute | null | undefined) =>
  JSON.stringify(a ?? null) === JSON.stringify(b ?? null);

export function initialCanaryState(now: number): CanaryState {
  return {
    step: 0,
    stepSince: now,
    weight: 0,
    headerRoute: null,
    scale: null,
    inForce: null,
    background: null,
    stepRuns: [],
  };
}

/** A canary release from the moment its revision exists, as one pass sees it. */
export interface Canary extends RunningContext {
  canary: CanaryStrategy;
  stable: RevisionRef;
  candidate: RevisionRef;
  state: CanaryState;
  /** No traffic router: the weight is approximated by replica counts behind one Service. */
  routerNone: boolean;
  /** The workload's full size. */
  total: number;
  /** The canary revision's status. */
  status: RevisionStatus | undefined;
  route: RouteState | null;
}

export function canaryOf(ctx: RunningContext, canary: CanaryStrategy): Canary {
  const { release, now } = ctx;
  const candidate = release.candidate;
  return {
    ...ctx,
    canary,
    stable: release.stable,
    candidate,
    state: release.canary ?? initialCanaryState(now),
    routerNone: !canary.trafficRouting,
    total: release.replicas,
    status: ctx.obs.snapshot.revisions[candidate.revision],
    route: ctx.obs.route ?? null,
  };
}

/** The release's canary state with `s` applied, and what the router reads back now. */
export function withState(c: Canary, s: Partial<CanaryState>): Partial<Pick<Release, 'canary'>> {
  return { canary: { ...c.state, ...s, inForce: c.route ?? c.state.inForce } };
}

/** Waits (the canary state recorded), looking again after `wakeIn`. */
export function canaryWait(
  c: Canary,
  reason: string,
  wakeIn = poll(c.release, c.now),
  s: Partial<CanaryState> = {},
): Decision {
  return go(c, { reason, wakeIn, patch: withState(c, s) });
}

/** Runs `commands` (the canary state recorded) and looks again soon. */
export function canaryAct(
  c: Canary,
  commands: Command[],
  reason: string,
  s: Partial<CanaryState> = {},
): Decision {
  return go(c, { reason, wakeIn: poll(c.release, c.now), patch: withState(c, s) }, commands);
}

/** All traffic back to stable (rollback.ts), the canary state recorded. */
export function canaryRollBack(c: Canary, reason: string, s: Partial<CanaryState> = {}): Decision {
  return rollBack(c, reason, withState(c, s));
}

/** The canary revision scaled to `replicas`. */
export function scaleCanary(c: Canary, replicas: number, s: Partial<CanaryState> = {}): Decision {
  const commands: Command[] = [{ type: 'ScaleRevision', deployment: c.candidate.deployment, replicas }];
  return canaryAct(c, commands, `scaling ${c.candidate.deployment} to ${replicas}`, s);
}
