// What a step decides on, read in this order: the target with its named analysis templates, the
// workload record, the cluster (the workload's objects, the Services' endpoints, the canary
// router's state) and the analysis measurements due. Reads only; nothing here writes.
import type { KubeConfig } from '@kubernetes/client-node';
import { withNamedTemplates } from '../analysis/named.ts';
import type { DependencyRelease, Observation } from '../engine/kernel.ts';
import type { Phase } from '../engine/phase.ts';
import type { Release, Workload } from '../engine/release.ts';
import { type EngineTarget, strategyOf } from '../engine/target.ts';
import type { Cluster } from '../kubernetes/types.ts';
import { TargetStore } from '../target/store.ts';
import type { Deps } from './deps.ts';
import { takeMeasurements } from './measure.ts';
import { observeRoute, type Routing, routingFor } from './routing.ts';

/** What a step saw, and the connections it acts through. */
export interface Seen {
  /** The target with its named templates joined. */
  target: EngineTarget;
  /** The workload record as read (commit() writes it only if nobody changed it since). */
  workload: Workload;
  cluster: Cluster;
  kubeConfig: KubeConfig;
  /** The canary router for the release as read; null when it has no revisions to route between yet. */
  routing: Routing | null;
  observation: Observation;
}

/** Reads what the decision of a step on `release` needs; `stored` is the target as the claim read it. */
export async function see(d: Deps, stored: EngineTarget, release: Release): Promise<Seen> {
  // Named analysis templates (applied apart from the target) join the target's own.
  const target = await withNamedTemplates(stored, (names) => new TargetStore(d.db).templates(names));
  const workload = await d.store.workload(release.target);
  const cluster = await d.clusterFor(target);
  const kubeConfig = await d.kubeConfigFor(target);
  const observation = await observe(cluster, target);
  const routing = routingFor(target, release, kubeConfig);
  const route = await observeRoute(routing);
  if (route) observation.route = route;
  const measurements = await takeMeasurements(target, release, kubeConfig, d.now);
  if (measurements) observation.measurements = measurements;
  const dependencies = await dependencyReleases(d, target, release);
  if (dependencies) observation.dependencies = dependencies;
  return { target, workload, cluster, kubeConfig, routing, observation };
}

/** Phases in which a member of a release train looks at its dependencies (before it takes traffic). */
const trainPhases: ReadonlySet<Phase> = new Set([
  'DeployingGreen',
  'AwaitingDependencies',
  'PrePromotionAnalysis',
]);

/**
 * Release trains: each dependency's newest release of the release's version (its tag), read only
 * for a release of a target with dependencies that has not taken traffic yet.
 */
async function dependencyReleases(
  d: Deps,
  target: EngineTarget,
  release: Release,
): Promise<DependencyRelease[] | null> {
  const names = target.spec.dependsOn ?? [];
  if (names.length === 0 || !release.tag || !trainPhases.has(release.phase)) return null;
  return Promise.all(
    names.map(async (name) => {
      const same = (await d.store.releasesOf(name, 20)).find((r) => r.tag === release.tag);
      const seen = same
        ? { id: same.id, phase: same.phase, switchedAt: same.switchedAt, reason: same.reason }
        : null;
      return { target: name, release: seen };
    }),
  );
}

/** Reads what the decision needs: the workload's objects and the Services' endpoints. */
async function observe(cluster: Cluster, target: EngineTarget): Promise<Observation> {
  const bg = strategyOf(target);
  const services = [bg.activeService, ...(bg.previewService ? [bg.previewService] : [])];
  const { namespace, workload: name } = target.spec;
  const snapshot = await cluster.snapshot(namespace, name, services);
  const endpoints: Observation['endpoints'] = {};
  for (const service of services) {
    if (snapshot.services[service]) endpoints[service] = await cluster.endpoints(namespace, service);
  }
  return { snapshot, endpoints };
}
