// The traffic router of a canary release and what it needs to know, built where the release is
// worked on (the engine only names router commands; this carries them out and reads back the state).
import type { KubeConfig } from '@kubernetes/client-node';
import type { Release } from '../engine/release.ts';
import type { EngineTarget } from '../engine/target.ts';
import { type ChosenRouter, routerFor } from '../routers/index.ts';
import type { RouterContext, RouteState } from '../routers/router.ts';

export interface Routing {
  chosen: ChosenRouter;
  ctx: RouterContext;
}

/** The router and its context for a canary release whose revisions exist; null otherwise. */
export function routingFor(target: EngineTarget, release: Release, kubeConfig: KubeConfig): Routing | null {
  const canary = target.spec.strategy.canary;
  if (!canary || !release.stable || !release.candidate) return null;
  return {
    chosen: routerFor(canary),
    ctx: {
      namespace: target.spec.namespace,
      workload: target.spec.workload,
      stableService: canary.stableService,
      canaryService: canary.canaryService,
      stableRevision: release.stable.revision,
      canaryRevision: release.candidate.revision,
      stableDeployment: release.stable.deployment,
      canaryDeployment: release.candidate.deployment,
      replicas: release.replicas,
      releaseId: release.id,
      kubeConfig,
    },
  };
}

/** The router's read-back, or undefined when it cannot tell (the step then asks again). */
export async function observeRoute(routing: Routing | null): Promise<RouteState | undefined> {
  if (!routing) return undefined;
  try {
    return await routing.chosen.router.observe(routing.chosen.config as never, routing.ctx);
  } catch {
    return undefined;
  }
}
