// Carries out one command against the cluster. Every command is idempotent in the adapter.
import type { Command } from '../engine/commands.ts';
import type { EngineTarget } from '../engine/target.ts';
import type { Cluster } from '../kubernetes/types.ts';

export async function execute(cluster: Cluster, target: EngineTarget, command: Command): Promise<void> {
  const ns = target.spec.namespace;
  // Only the active Service guards deletion: it is the one that serves traffic.
  const serving = [target.spec.strategy.blueGreen.activeService];
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
  }
}
