// Carries out one command against the cluster. Every command is idempotent in the adapter.
import type { Command } from '../engine/commands.ts';
import { type EngineTarget, servicesOf } from '../engine/target.ts';
import { invalid } from '../errors.ts';
import type { Cluster, ServingGuard } from '../kubernetes/types.ts';
import { routeObjectsFor } from '../routers/index.ts';
import type { Routing } from './routing.ts';

/**
 * What the serving guard checks for `target` (the rule: kubernetes/guard.ts): every Service of the
 * target (active, preview, stable, canary) and the objects of its canary router (the HTTPRoute, or
 * the stable and canary Ingresses). Built from the target alone, never from a release, so a release
 * that does not know its revisions yet is guarded like any other.
 */
export function servingGuardOf(target: EngineTarget): ServingGuard {
  const canary = target.spec.strategy.canary;
  return { services: servicesOf(target), routes: canary ? routeObjectsFor(canary) : [] };
}

export async function execute(
  cluster: Cluster,
  target: EngineTarget,
  command: Command,
  routing: Routing | null = null,
): Promise<void> {
  const ns = target.spec.namespace;
  const guard = servingGuardOf(target);
  switch (command.type) {
    case 'EnsureRevision':
      return cluster.ensureRevision(command.spec, guard);
    case 'ScaleRevision':
      return cluster.scaleRevision(ns, command.deployment, command.replicas, guard);
    case 'ScalePlainDeployment':
      return cluster.scalePlainDeployment(ns, command.deployment, command.replicas, guard);
    case 'SelectRevision':
      return cluster.selectRevision(
        ns,
        command.service,
        target.spec.workload,
        command.revision,
        command.onlyFrom,
      );
    case 'RestoreSelector':
      return cluster.restoreSelector(ns, command.service, command.selector);
    case 'MoveHpa':
      return cluster.moveHpa(ns, command.from, command.to);
    case 'DeleteRevision':
      return cluster.deleteRevision(ns, command.deployment, guard);
    case 'PrepareRouter':
    case 'SetWeight':
    case 'FinalizeRouter': {
      if (!routing)
        throw invalid(`${command.type}: target ${target.name} has no canary revisions to route between`);
      const { router, config } = routing.chosen;
      if (command.type === 'PrepareRouter') return router.prepare(config as never, routing.ctx);
      if (command.type === 'SetWeight')
        return router.setWeight(config as never, routing.ctx, command.weight, command.headerRoute);
      return router.finalize(config as never, { ...routing.ctx, stableRevision: command.stableRevision });
    }
  }
}
