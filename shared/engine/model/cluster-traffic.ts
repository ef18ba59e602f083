// What traffic sees in the model cluster: which Services carry user traffic, the ready endpoints
// that really answer, and what a serving Service depends on (invariants i and ii).
import { matches, type Protection, revisionLabel } from './cluster-objects.ts';
import { ClusterPods } from './cluster-pods.ts';

export class ClusterTraffic extends ClusterPods {
  /** Whether the data plane sends any traffic to the canary Service (never for blue-green and the replica-ratio router). */
  canaryGetsTraffic(): boolean {
    if (this.config.router === 'gatewayAPI')
      return (this.gateway.inForce.canary ?? 0) > 0 || this.gateway.inForce.header !== null;
    if (this.config.router === 'nginx')
      return !!this.ingress && (this.ingress.weight > 0 || this.ingress.header !== null);
    return false;
  }

  /** Services that carry user traffic now: active / stable always, the canary Service while routed to. */
  servingServices(): string[] {
    const out = [this.activeService];
    if (this.canaryService && this.canaryGetsTraffic()) out.push(this.canaryService);
    return out;
  }

  /** Ready endpoints that really answer: listed as ready, and the pod is still there and ready. */
  effectiveReady(service: string): number {
    let n = 0;
    for (const [key, l] of this.listed.get(service) ?? new Map()) {
      const b = this.backend(key);
      if (b && b.desired > 0) n += Math.min(l.ready, b.ready);
    }
    return n;
  }

  /**
   * Why scaling down or deleting backend `key` would take away what a serving Service serves, or null.
   * A serving Service depends on a backend when (1) its selector names the revision (or, for the
   * plain Deployment, its selector has no revision key and matches the plain pods), (2) its
   * EndpointSlices still list ready endpoints of the backend after the selector moved away from it,
   * or (3) its selector takes the whole workload and this backend has the only ready endpoints listed.
   * A backend that a whole-workload selector takes beside others that serve (a half-ready first
   * revision during adoption, for one) may go.
   */
  protection(key: string): Protection | null {
    const b = this.backend(key);
    if (!b) return null;
    for (const service of this.servingServices()) {
      const selector = this.selectors.get(service) ?? {};
      const listing = this.listed.get(service) ?? new Map();
      const named =
        key === ''
          ? !(revisionLabel in selector) && matches(selector, b.labels)
          : selector[revisionLabel] === key;
      if (named) return { service, why: `${service} selects it` };
      const listedReady = listing.get(key)?.ready ?? 0;
      if (listedReady > 0 && !matches(selector, b.labels)) {
        return {
          service,
          why: `${service}'s EndpointSlices still list ${listedReady} ready endpoint(s) of it`,
        };
      }
      if (listedReady > 0 && b.ready > 0) {
        let others = 0;
        for (const [k, l] of listing) {
          const o = this.backend(k);
          if (k !== key && o && o.desired > 0) others += Math.min(l.ready, o.ready);
        }
        if (others === 0) return { service, why: `${service} has ready endpoints of no other backend` };
      }
    }
    return null;
  }
}
