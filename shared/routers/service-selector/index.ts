// The `service-selector` traffic router (trafficRouting "none"): with no router in front, the canary's
// share is approximated by replica counts. The stable Service selects every pod of the workload
// (both revisions), and the two revision Deployments are scaled so that canary / (stable + canary)
// comes as close to the weight as whole replicas allow (Cloud Deploy's "service networking" mode,
// Argo Rollouts' canary without trafficRouting).
//
// observe() never reports the weight asked for, only the one the cluster shows: the share of ready
// endpoints of each revision in the stable Service's EndpointSlices, which is what kube-proxy
// balances over. The message says so, with the counts.
import { CoreV1Api, PatchStrategy, setHeaderOptions } from '@kubernetes/client-node';
import { invalid } from '../../errors.ts';
import { apiClient } from '../../kubernetes/client.ts';
import { KubernetesCluster } from '../../kubernetes/cluster.ts';
import { ClusterError, toClusterError } from '../../kubernetes/errors.ts';
import { labels, managerName, type RevisionStatus, type ServingGuard } from '../../kubernetes/types.ts';
import type { RouterContext, RouteState, TrafficRouter } from '../router.ts';
import type { ServiceSelectorConfig } from './schema.ts';

export { type ServiceSelectorConfig, serviceSelectorConfigSchema } from './schema.ts';

const mergePatch = setHeaderOptions('Content-Type', PatchStrategy.MergePatch);

/**
 * Pure: replica counts for `weight` (0..100) out of `replicas`: the canary gets ceil(replicas × w /
 * 100) (so any weight above 0 gets at least one canary pod), the stable revision the rest, but never
 * fewer than 1 while the weight is below 100 (the stable revision keeps serving), and 0 at 100. The
 * sum can exceed `replicas` by one (e.g. 4 replicas at 90 %: canary 4, stable 1).
 */
export function replicaSplit(replicas: number, weight: number): { stable: number; canary: number } {
  const canary = Math.ceil((replicas * weight) / 100);
  const stable = weight >= 100 ? 0 : Math.max(1, replicas - canary);
  return { stable, canary };
}

/** The selector that takes both revisions' pods: the workload label alone. */
function wideSelector(workload: string): Record<string, string> {
  return { [labels.name]: workload };
}

function sameSelector(a: Record<string, string>, b: Record<string, string>): boolean {
  const keys = Object.keys(a);
  return keys.length === Object.keys(b).length && keys.every((k) => a[k] === b[k]);
}

function formatSelector(selector: Record<string, string>): string {
  return (
    Object.entries(selector)
      .map(([k, v]) => `${k}=${v}`)
      .join(',') || '(empty)'
  );
}

/**
 * Widens the stable Service's selector to the whole workload. No write when it already is exactly
 * that; otherwise a merge patch replacing the whole selector, conditioned on the resourceVersion
 * read (a concurrent change ends in a retriable 'conflict', never in a mixed selector).
 */
async function selectWholeWorkload(ctx: RouterContext): Promise<void> {
  const core = apiClient(ctx.kubeConfig, CoreV1Api);
  const where = `Service "${ctx.stableService}" in namespace "${ctx.namespace}"`;
  let service: Awaited<ReturnType<CoreV1Api['readNamespacedService']>>;
  try {
    service = await core.readNamespacedService({ name: ctx.stableService, namespace: ctx.namespace });
  } catch (err) {
    throw toClusterError(err, `reading ${where}`);
  }
  const current = service.spec?.selector ?? {};
  const wanted = wideSelector(ctx.workload);
  if (sameSelector(current, wanted)) return;
  const selector: Record<string, string | null> = {};
  for (const key of Object.keys(current)) selector[key] = null;
  Object.assign(selector, wanted);
  try {
    await core.patchNamespacedService(
      {
        name: ctx.stableService,
        namespace: ctx.namespace,
        fieldManager: managerName,
        body: { metadata: { resourceVersion: service.metadata?.resourceVersion }, spec: { selector } },
      },
      mergePatch,
    );
  } catch (err) {
    throw toClusterError(err, `selecting every revision of "${ctx.workload}" in ${where}`);
  }
}

/**
 * Scales both revisions to `replicaSplit` (the one that grows first, so capacity dips as little as
 * possible), then makes the stable Service select both. Scaling before widening means that at
 * weight 0 the canary's pods are gone (or terminating, hence not ready) before the Service can
 * reach them. Each scale writes only when the count differs.
 */
async function apply(ctx: RouterContext, weight: number): Promise<void> {
  const cluster = new KubernetesCluster(ctx.kubeConfig);
  const want = replicaSplit(ctx.replicas, weight);
  const [canaryNow, stableNow] = await Promise.all([
    cluster.revisionStatus(ctx.namespace, ctx.canaryDeployment),
    cluster.revisionStatus(ctx.namespace, ctx.stableDeployment),
  ]);
  const guard = servingGuard(ctx);
  const sides = [
    { deployment: ctx.canaryDeployment, now: canaryNow, want: want.canary },
    { deployment: ctx.stableDeployment, now: stableNow, want: want.stable },
  ];
  // The side that grows goes first. The other then shrinks, except to zero while the grown side
  // has no ready replica yet (the serving guard would refuse it: the Service would have nothing to
  // send to); the engine asks again until it reads the weight back, which finishes the shrink.
  const growing = sides.filter((s) => !s.now.exists || s.want >= s.now.desired);
  const shrinking = sides.filter((s) => s.now.exists && s.want < s.now.desired);
  for (const s of growing) await cluster.scaleRevision(ctx.namespace, s.deployment, s.want, guard);
  const grownReady = growing.some((s) => s.now.exists && s.now.ready > 0);
  for (const s of shrinking) {
    if (s.want > 0 || grownReady) await cluster.scaleRevision(ctx.namespace, s.deployment, s.want, guard);
  }
  await selectWholeWorkload(ctx);
}

/** What the guard checks when this router scales: both Services; it has no route objects. */
function servingGuard(ctx: RouterContext): ServingGuard {
  return { services: [ctx.stableService, ctx.canaryService], routes: [] };
}

/** The Deployment of the revision that keeps the traffic at the end (see finalize). */
function keeperDeployment(ctx: RouterContext): string {
  return ctx.stableRevision === ctx.canaryRevision ? ctx.canaryDeployment : ctx.stableDeployment;
}

function describe(role: string, d: RevisionStatus): string {
  return d.exists ? `${role} ${d.ready}/${d.desired} ready` : `${role} Deployment "${d.name}" missing`;
}

/**
 * The replica-ratio router. Scales only Switchyard's revision Deployments (scaleRevision refuses any
 * other: 'unsafe') and changes only the stable Service's selector. Header routes cannot be carried:
 * setWeight with one throws 'invalid'. Missing Deployments or Service are 'not-found' ClusterErrors.
 */
export const serviceSelectorRouter: TrafficRouter<ServiceSelectorConfig> = {
  /**
   * Weight 0: the canary scaled to 0, the stable revision to `ctx.replicas`, and then the stable
   * Service's selector widened to `{app.kubernetes.io/name: <workload>}`. Idempotent.
   */
  async prepare(_config, ctx) {
    await apply(ctx, 0);
  },

  /**
   * Scales to replicaSplit(ctx.replicas, weight) and keeps the wide selector; no write when already
   * there. Throws 'invalid' for a header route or a weight outside 0..100.
   */
  async setWeight(_config, ctx, weight, headerRoute) {
    if (headerRoute !== null) {
      throw invalid(
        `header route "${headerRoute.name}": without trafficRouting (replica ratio behind one Service) requests cannot be routed by header or cookie; configure trafficRouting gatewayAPI or nginx`,
      );
    }
    if (!Number.isInteger(weight) || weight < 0 || weight > 100) {
      throw invalid(`weight ${weight} is not a whole percentage (0..100)`);
    }
    await apply(ctx, weight);
  },

  /**
   * Reads only. weight = round(100 × canary / (stable + canary)) over the ready endpoints of the
   * stable Service by revision (0 when there are none). `accepted` when both Deployments have all
   * their wanted replicas ready and the EndpointSlices list exactly those as ready for every revision
   * the selector takes (both while wide, one after finalize). headerRoute is always null.
   */
  async observe(_config, ctx): Promise<RouteState> {
    const cluster = new KubernetesCluster(ctx.kubeConfig);
    const core = apiClient(ctx.kubeConfig, CoreV1Api);
    const [service, stable, canary, counts] = await Promise.all([
      core
        .readNamespacedService({ name: ctx.stableService, namespace: ctx.namespace })
        .catch((err: unknown) => {
          throw toClusterError(err, `reading Service "${ctx.stableService}" in namespace "${ctx.namespace}"`);
        }),
      cluster.revisionStatus(ctx.namespace, ctx.stableDeployment),
      cluster.revisionStatus(ctx.namespace, ctx.canaryDeployment),
      cluster.endpoints(ctx.namespace, ctx.stableService),
    ]);
    const ready = (revision: string) => counts.readyByRevision[revision] ?? 0;
    const stableReady = ready(ctx.stableRevision);
    const canaryReady = ready(ctx.canaryRevision);
    const total = stableReady + canaryReady;
    const weight = total > 0 ? Math.round((100 * canaryReady) / total) : 0;

    const waiting: string[] = [];
    for (const [role, d] of [
      ['stable', stable],
      ['canary', canary],
    ] as const) {
      if (!d.exists) waiting.push(`${role} Deployment "${d.name}" does not exist`);
      else if (d.ready !== d.desired) waiting.push(`${role} has ${d.ready} of ${d.desired} replicas ready`);
    }
    // Which revisions the Service should list, and how many ready endpoints each.
    const selector = service.spec?.selector ?? {};
    const narrowedTo = selector[labels.revision];
    const expected: [string, string, number][] = [];
    if (narrowedTo !== undefined && selector[labels.name] === ctx.workload) {
      expected.push(
        ['stable', ctx.stableRevision, narrowedTo === ctx.stableRevision ? stable.desired : 0],
        ['canary', ctx.canaryRevision, narrowedTo === ctx.canaryRevision ? canary.desired : 0],
      );
    } else if (sameSelector(selector, wideSelector(ctx.workload))) {
      expected.push(
        ['stable', ctx.stableRevision, stable.desired],
        ['canary', ctx.canaryRevision, canary.desired],
      );
    } else {
      waiting.push(`the Service selects ${formatSelector(selector)}, not the revisions of "${ctx.workload}"`);
    }
    for (const [role, revision, want] of expected) {
      if (ready(revision) !== want) {
        waiting.push(`the EndpointSlices list ${ready(revision)} ready ${role} endpoints, not ${want}`);
      }
    }
    if (total === 0) waiting.push('no ready endpoint of either revision');

    const how =
      `${weight}% by replica ratio: ${canaryReady} canary and ${stableReady} stable ready endpoints behind ` +
      `Service "${ctx.stableService}" (Deployments: ${describe('canary', canary)}, ${describe('stable', stable)})`;
    return {
      weight,
      headerRoute: null,
      accepted: waiting.length === 0,
      message: waiting.length === 0 ? how : `${how}; waiting: ${waiting.join('; ')}`,
    };
  },

  /**
   * Narrows the stable Service to `{app.kubernetes.io/name, switchyard.dev/revision:
   * ctx.stableRevision}` (the revision the engine says keeps the traffic), after scaling that
   * revision's Deployment up to `ctx.replicas` if it has fewer. Refuses to narrow while that revision
   * has no ready replica (it would drop all traffic): throws a retriable 'unavailable'. Leaves the
   * other revision's replicas to the engine's scale-down. Idempotent.
   */
  async finalize(_config, ctx) {
    const cluster = new KubernetesCluster(ctx.kubeConfig);
    const deployment = keeperDeployment(ctx);
    const keeper = await cluster.revisionStatus(ctx.namespace, deployment);
    if (!keeper.exists) {
      throw new ClusterError(
        'not-found',
        `Deployment "${deployment}" of revision ${ctx.stableRevision} not found in namespace "${ctx.namespace}": not narrowing Service "${ctx.stableService}" to a revision that has no pods`,
        { status: 404 },
      );
    }
    if (keeper.desired < ctx.replicas) {
      await cluster.scaleRevision(ctx.namespace, deployment, ctx.replicas, servingGuard(ctx));
    }
    if (keeper.ready === 0) {
      throw new ClusterError(
        'unavailable',
        `not narrowing Service "${ctx.stableService}" in namespace "${ctx.namespace}" to revision ${ctx.stableRevision}: Deployment "${deployment}" has no ready replica yet (that would drop all traffic); retry once it has`,
      );
    }
    await cluster.selectRevision(ctx.namespace, ctx.stableService, ctx.workload, ctx.stableRevision);
  },

  /** None: traffic reaches the revisions only through the stable Service's selector. */
  routeObjects() {
    return [];
  },
};
