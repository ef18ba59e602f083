// What the demo watches beside a release, to check the story rather than tell it: the active
// Service (which revision it selects, how many ready endpoints it lists) sampled all along, and an
// HTTPRoute's weights. And the one part the local stack lacks for the Gateway API: a controller that
// accepts routes, which the demo stands in for as GKE Gateway would.
import type { CustomObjectsApi } from '@kubernetes/client-node';
import { KubernetesCluster } from '../../../shared/kubernetes/cluster.ts';
import { httpRouteApi } from '../../../shared/routers/gateway-httproute/index.ts';
import type { DemoContext } from './context.ts';
import { demoNamespace } from './context.ts';
import { selectedRevision } from './workloads.ts';

export interface ServiceSample {
  at: number;
  /** The revision the Service selects ('' before adoption). */
  revision: string;
  /** Ready endpoints the Service lists, whatever their revision. */
  ready: number;
}

/** Runs `sample` every `everyMs` until stopped; `stop` resolves with everything sampled. */
function sampler<T>(sample: () => Promise<T | undefined>, everyMs: number): { stop(): Promise<T[]> } {
  const samples: T[] = [];
  let running = true;
  const loop = (async () => {
    while (running) {
      try {
        const s = await sample();
        if (s !== undefined) samples.push(s);
      } catch {
        // A read that failed says nothing about the Service; the next one will.
      }
      await new Promise((resolve) => setTimeout(resolve, everyMs));
    }
  })();
  return {
    async stop() {
      running = false;
      await loop;
      return samples;
    },
  };
}

/** Samples a Service's selector and ready endpoints every `everyMs` while a release runs. */
export function watchService(
  ctx: DemoContext,
  service: string,
  everyMs = 150,
): { stop(): Promise<ServiceSample[]> } {
  const cluster = new KubernetesCluster(ctx.kube.config);
  return sampler(async () => {
    const [revision, counts] = await Promise.all([
      selectedRevision(ctx, service),
      cluster.endpoints(demoNamespace, service),
    ]);
    const ready = Object.values(counts.readyByRevision).reduce((a, b) => a + b, 0);
    return { at: Date.now(), revision, ready };
  }, everyMs);
}

interface Route {
  metadata: { generation: number; resourceVersion?: string };
  spec: { rules: { name?: string; backendRefs?: { name: string; weight?: number }[] }[] };
  status?: { parents?: { conditions?: { type: string; observedGeneration?: number }[] }[] };
}

const routeRef = (name: string) => ({ ...httpRouteApi, namespace: demoNamespace, name });

async function readRoute(api: CustomObjectsApi, name: string): Promise<Route> {
  return (await api.getNamespacedCustomObject(routeRef(name))) as Route;
}

/** The weights of the route's weighted rule (Switchyard's own header rules aside), by Service. */
export async function routeWeights(ctx: DemoContext, name: string): Promise<Record<string, number>> {
  const route = await readRoute(ctx.kube.custom, name);
  const rule = route.spec.rules.find((r) => !r.name?.startsWith('switchyard-'));
  return Object.fromEntries((rule?.backendRefs ?? []).map((b) => [b.name, b.weight ?? 1]));
}

/** The share in percent of `service` in a set of weights. */
export function share(weights: Record<string, number>, service: string): number {
  const total = Object.values(weights).reduce((a, b) => a + b, 0);
  return total === 0 ? 0 : Math.round((100 * (weights[service] ?? 0)) / total);
}

/** Calls `changed` each time the route's weights differ from the last ones read. */
export function watchRoute(
  ctx: DemoContext,
  name: string,
  changed: (weights: Record<string, number>) => void,
  everyMs = 100,
): { stop(): Promise<Record<string, number>[]> } {
  let last = '';
  return sampler(async () => {
    const weights = await routeWeights(ctx, name);
    const key = JSON.stringify(weights);
    if (key === last) return undefined;
    last = key;
    changed(weights);
    return weights;
  }, everyMs);
}

/** Creates an HTTPRoute sending every request to `service`, attached to the Gateway `gateway`. */
export async function createRoute(ctx: DemoContext, name: string, service: string, gateway: string) {
  await ctx.kube.custom.createNamespacedCustomObject({
    ...httpRouteApi,
    namespace: demoNamespace,
    body: {
      apiVersion: `${httpRouteApi.group}/${httpRouteApi.version}`,
      kind: 'HTTPRoute',
      metadata: { name },
      spec: {
        parentRefs: [{ name: gateway }],
        rules: [
          {
            matches: [{ path: { type: 'PathPrefix', value: '/' } }],
            backendRefs: [{ name: service, port: 80 }],
          },
        ],
      },
    },
  });
}

/**
 * Stands in for the gateway controller (GKE Gateway in production): marks the route Accepted by
 * its Gateway for every new generation, which is what Switchyard waits for before a weight counts.
 */
export function acceptRoutes(
  ctx: DemoContext,
  name: string,
  gateway: string,
): { stop(): Promise<unknown[]> } {
  return sampler(async () => {
    const route = await readRoute(ctx.kube.custom, name);
    const generation = route.metadata.generation;
    const seen = route.status?.parents?.[0]?.conditions?.find((c) => c.type === 'Accepted');
    if (seen?.observedGeneration === generation) return undefined;
    await ctx.kube.custom.replaceNamespacedCustomObjectStatus({
      ...routeRef(name),
      body: {
        ...route,
        status: {
          parents: [
            {
              parentRef: { name: gateway },
              controllerName: 'switchyard.dev/demo-gateway',
              conditions: [
                {
                  type: 'Accepted',
                  status: 'True',
                  reason: 'Accepted',
                  message: 'accepted by the demo stand-in for a gateway controller',
                  observedGeneration: generation,
                  lastTransitionTime: new Date().toISOString().replace(/\.\d+Z$/, 'Z'),
                },
              ],
            },
          ],
        },
      },
    });
    return generation;
  }, 100);
}
