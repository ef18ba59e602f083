// What a step decides on, read in this order: the target with its named analysis templates, the
// workload record, the cluster (the workload's objects, the Services' endpoints, the canary
// router's state) and the analysis measurements due. Reads only; nothing here writes.
import type { KubeConfig } from '@kubernetes/client-node';
import { withNamedTemplates } from '../analysis/named.ts';
import type { DependencyRelease, DependentRelease, Observation } from '../engine/kernel.ts';
import type { Phase } from '../engine/phase.ts';
import type { Release, Workload } from '../engine/release.ts';
import { type EngineTarget, strategyOf } from '../engine/target.ts';
import { defaultDependsOnWaitSeconds, trainVersion } from '../engine/trains.ts';
import type { Cluster } from '../kubernetes/types.ts';
import { TargetStore } from '../target/store.ts';
import type { Deps } from './deps.ts';
import { takeMeasurements } from './measure.ts';
import { observeRoute, type Routing, routingFor } from './routing.ts';
import { releaseOfVersion } from './train-wake.ts';

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
  const dependents = await dependentReleases(d, target, release);
  if (dependents) observation.dependents = dependents;
  return { target, workload, cluster, kubeConfig, routing, observation };
}

/** Phases in which a member of a release train looks at its dependencies (before it takes traffic). */
const trainPhases: ReadonlySet<Phase> = new Set([
  'DeployingGreen',
  'AwaitingDependencies',
  'PrePromotionAnalysis',
]);

/**
 * Release trains: each dependency's newest release of the release's version, read only for a
 * release of a target with dependencies that has not taken traffic yet.
 */
async function dependencyReleases(
  d: Deps,
  target: EngineTarget,
  release: Release,
): Promise<DependencyRelease[] | null> {
  const names = target.spec.dependsOn ?? [];
  const version = trainVersion(release);
  if (names.length === 0 || !version || !trainPhases.has(release.phase)) return null;
  return Promise.all(
    names.map(async (name) => {
      const same = await releaseOfVersion(d, name, version);
      const seen = same
        ? { id: same.id, phase: same.phase, switchedAt: same.switchedAt, reason: same.reason }
        : null;
      return { target: name, release: seen };
    }),
  );
}

/**
 * Release trains, once switched (ScalingDown): each direct dependent's newest release of the
 * version, and whether it or a target downstream of it has rollbackTrain. One indexed query per
 * target downstream; none past the first for a target nothing depends on.
 */
async function dependentReleases(
  d: Deps,
  target: EngineTarget,
  release: Release,
): Promise<DependentRelease[] | null> {
  const version = trainVersion(release);
  // Only a release of a target in a train (recorded when it was made) has dependents to look for.
  if (release.phase !== 'ScalingDown' || !version || !release.inTrain) return null;
  const direct = await d.store.dependentsOf(target.name);
  if (direct.length === 0) return null;
  const holds = downstreamRollback(d, new Set([target.name]));
  return Promise.all(
    direct.map(async (dependent) => {
      const same = await releaseOfVersion(d, dependent.name, version);
      return {
        target: dependent.name,
        rollbackTrain: dependent.spec.rollbackTrain === true,
        holds: await holds(dependent),
        waitSeconds: dependent.spec.dependsOnWaitSeconds ?? defaultDependsOnWaitSeconds,
        release: same
          ? {
              id: same.id,
              phase: same.phase,
              reason: same.reason,
              trainRollback: same.trainRollback !== undefined,
            }
          : null,
      };
    }),
  );
}

/** Whether a target or one downstream of it has rollbackTrain; `seen` bounds the walk (no cycles are stored). */
function downstreamRollback(d: Deps, seen: Set<string>) {
  const memo = new Map<string, Promise<boolean>>();
  const walk = (t: EngineTarget): Promise<boolean> => {
    if (t.spec.rollbackTrain) return Promise.resolve(true);
    const known = memo.get(t.name);
    if (known) return known;
    const result = (async () => {
      if (seen.has(t.name)) return false;
      seen.add(t.name);
      for (const next of await d.store.dependentsOf(t.name)) if (await walk(next)) return true;
      return false;
    })();
    memo.set(t.name, result);
    return result;
  };
  return walk;
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
