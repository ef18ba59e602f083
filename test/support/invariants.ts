// The invariant checker that runs beside every end-to-end release test: at every sampled moment
// the active Service must have ready endpoints, the revision it selects must have ready replicas,
// and no revision whose pods the Service still lists as ready may be scaled down.
import type { Fixture } from './release.ts';

export interface InvariantChecker {
  /** Stops sampling; returns every violation seen (empty when the invariants held) and the sample counts. */
  stop(): Promise<{ violations: string[]; samples: number; missed: number }>;
}

/**
 * `canaryWeight` (canary releases) reads the weight the router gives the canary Service; whenever it
 * is above 0, that Service must have ready endpoints.
 */
export function watchInvariants(
  f: Fixture,
  service = 'api',
  everyMs = 150,
  canaryWeight?: () => Promise<number>,
): InvariantChecker {
  const violations: string[] = [];
  let samples = 0;
  let missed = 0;
  let running = true;
  const loop = (async () => {
    while (running) {
      try {
        const selector = await f.selector(service);
        const counts = await f.cluster.endpoints(f.namespace, service);
        const ready = Object.values(counts.readyByRevision).reduce((a, b) => a + b, 0);
        const at = new Date().toISOString();
        if (ready === 0)
          violations.push(`${at}: ${service} has no ready endpoints (selector ${JSON.stringify(selector)})`);
        const selected = selector['switchyard.dev/revision'];
        if (selected) {
          const d = await f.deployment(`api-${selected}`);
          if (!d || (d.status?.readyReplicas ?? 0) === 0) {
            violations.push(`${at}: ${service} selects revision ${selected}, which has no ready replicas`);
          }
        }
        for (const [revision, n] of Object.entries(counts.readyByRevision)) {
          if (n === 0) continue;
          if (revision === '') {
            // '' holds the plain Deployment's pods, but also endpoints whose pod the read could not
            // label (created or deleted between the EndpointSlice and the pod list): only ready
            // endpoints that are plain pods still there count, read by name.
            const plain = await f.deployment('api');
            if (plain && (plain.spec?.replicas ?? 0) === 0) {
              const listedPlain = await readyPlainEndpoints(f, service);
              if (listedPlain > 0) {
                violations.push(
                  `${at}: the plain Deployment is scaled to zero while ${service} lists ${listedPlain} of its endpoints as ready`,
                );
              }
            }
            continue;
          }
          const d = await f.deployment(`api-${revision}`);
          // Behind a Service that selects the whole workload a revision cannot be drained before it
          // goes (selectors only match labels it shares); there it may go while others are ready,
          // which is the serving guard's rule too.
          const others = ready - n;
          if (d && (d.spec?.replicas ?? 0) === 0 && (selected !== undefined || others === 0)) {
            violations.push(
              `${at}: revision ${revision || '(plain)'} is scaled to zero while ${service} lists ${n} of its endpoints as ready`,
            );
          }
        }
        if (canaryWeight) {
          const weight = await canaryWeight();
          const canary = await f.cluster.endpoints(f.namespace, 'api-canary');
          const canaryReady = Object.values(canary.readyByRevision).reduce((a, b) => a + b, 0);
          if (weight > 0 && canaryReady === 0) {
            violations.push(`${at}: the router gives api-canary ${weight}% but it has no ready endpoints`);
          }
        }
        samples += 1;
      } catch {
        // A read that failed (API server busy) is a missed sample, not a broken invariant.
        missed += 1;
      }
      await new Promise((r) => setTimeout(r, everyMs));
    }
  })();
  return {
    async stop() {
      running = false;
      await loop;
      return { violations, samples, missed };
    },
  };
}

/** Ready endpoints of `service` whose pods are the plain Deployment's (no revision label), by name. */
async function readyPlainEndpoints(f: Fixture, service: string): Promise<number> {
  const [slices, plainPods] = await Promise.all([
    f.kube.discovery.listNamespacedEndpointSlice({
      namespace: f.namespace,
      labelSelector: `kubernetes.io/service-name=${service}`,
    }),
    f.kube.core.listNamespacedPod({
      namespace: f.namespace,
      labelSelector: 'app.kubernetes.io/name=api,!switchyard.dev/revision',
    }),
  ]);
  const plain = new Set(plainPods.items.map((p) => p.metadata?.name));
  const ready = new Set<string>();
  for (const slice of slices.items) {
    for (const ep of slice.endpoints ?? []) {
      const pod = ep.targetRef?.kind === 'Pod' ? ep.targetRef.name : undefined;
      if (pod && plain.has(pod) && ep.conditions?.ready === true) ready.add(pod);
    }
  }
  return ready.size;
}
