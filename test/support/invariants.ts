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
            // label (created or deleted between the EndpointSlice and the pod list): only plain pods
            // that still exist make it a violation.
            const plainPods = await f.kube.core.listNamespacedPod({
              namespace: f.namespace,
              labelSelector: 'app.kubernetes.io/name=api,!switchyard.dev/revision',
            });
            const plain = await f.deployment('api');
            if (plainPods.items.length > 0 && plain && (plain.spec?.replicas ?? 0) === 0) {
              violations.push(
                `${at}: the plain Deployment is scaled to zero while ${service} lists ${n} of its endpoints as ready`,
              );
            }
            continue;
          }
          const d = await f.deployment(`api-${revision}`);
          if (d && (d.spec?.replicas ?? 0) === 0) {
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
