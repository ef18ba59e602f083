// Carries out one command against the cluster. Every command is idempotent in the adapter.
import type { Command } from '../engine/commands.ts';
import { type EngineTarget, strategyOf } from '../engine/target.ts';
import { invalid } from '../errors.ts';
import type { Cluster } from '../kubernetes/types.ts';
import type { Routing } from './routing.ts';

export async function execute(
  cluster: Cluster,
  target: EngineTarget,
  command: Command,
  routing: Routing | null = null,
): Promise<void> {
  const ns = target.spec.namespace;
  // Only the active Service guards deletion: it is the one that serves traffic.
  const serving = [strategyOf(target).activeService];
  switch (command.type) {
    case 'EnsureRevision':
      return cluster.ensureRevision(command.spec);
    case 'ScaleRevision':
      return cluster.scaleRevision(ns, command.deployment, command.replicas);
    case 'ScalePlainDeployment':
      return cluster.scalePlainDeployment(ns, command.deployment, command.replicas);
    case 'SelectRevision':
      return cluster.selectRevision(ns, command.service, target.spec.workload, command.revision);
    case 'MoveHpa':
      return cluster.moveHpa(ns, command.from, command.to);
    case 'DeleteRevision':
      return cluster.deleteRevision(ns, command.deployment, serving);
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
