// Pods going ready and unready, EndpointSlices catching up with selectors and pods (on a sync event,
// or at the latest maxLagMs after they went out of date), and the Gateway accepting an HTTPRoute
// generation.
import { ClusterObjects, type Listing, matches, maxLagMs } from './cluster-objects.ts';

export class ClusterPods extends ClusterObjects {
  /** Since when a Service's listing (or the Gateway's accepted generation) has been out of date. */
  protected readonly staleSince = new Map<string, number>();
  protected gatewayStaleSince: number | null = null;

  /** What the EndpointSlice controller would list for `service` now. */
  protected truth(service: string): Listing {
    const selector = this.selectors.get(service) ?? {};
    const out: Listing = new Map();
    for (const b of this.backends()) {
      if (b.desired > 0 && matches(selector, b.labels)) out.set(b.key, { ready: b.ready, total: b.desired });
    }
    return out;
  }

  syncEndpoints(service: string): void {
    this.listed.set(service, this.truth(service));
    this.staleSince.delete(service);
  }

  protected upToDate(service: string): boolean {
    const a = this.listed.get(service) ?? new Map();
    const b = this.truth(service);
    if (a.size !== b.size) return false;
    for (const [k, l] of b) {
      const m = a.get(k);
      if (!m || m.ready !== l.ready || m.total !== l.total) return false;
    }
    return true;
  }

  /** Notes, at model time `now`, what went out of date (the clock of the bounded lag). */
  noteStale(now: number): void {
    for (const s of this.config.services) {
      if (this.upToDate(s)) this.staleSince.delete(s);
      else if (!this.staleSince.has(s)) this.staleSince.set(s, now);
    }
    if (this.gateway.observedGeneration === this.gateway.generation) this.gatewayStaleSince = null;
    else if (this.gatewayStaleSince === null) this.gatewayStaleSince = now;
  }

  /** Time has moved on to `now`: whatever has been out of date for maxLagMs catches up. Returns what did. */
  catchUp(now: number): string[] {
    const done: string[] = [];
    for (const [s, since] of [...this.staleSince]) {
      if (now - since >= maxLagMs) {
        this.syncEndpoints(s);
        done.push(`${s} EndpointSlices caught up`);
      }
    }
    if (this.gatewayStaleSince !== null && now - this.gatewayStaleSince >= maxLagMs && this.gatewayAccepts())
      done.push('the Gateway accepted the HTTPRoute');
    return done;
  }

  /** Without lag, EndpointSlices follow every change at once. */
  settle(): void {
    if (!this.config.lag) for (const s of this.config.services) this.syncEndpoints(s);
  }

  syncAll(): void {
    for (const s of this.config.services) this.syncEndpoints(s);
  }

  /** Backends whose pods could become ready (index order stable for the harness). */
  podReady(index: number): string | null {
    const waiting = this.backends().filter((b) => b.ready < b.desired);
    if (waiting.length === 0) return null;
    const b = waiting[index % waiting.length]!;
    this.setReady(b.key, b.ready + 1);
    return b.key;
  }

  /** One ready pod fails its probe; never the last ready pod of a backend (the test is about the engine). */
  podUnready(index: number): string | null {
    const candidates = this.backends().filter((b) => b.ready >= 2);
    if (candidates.length === 0) return null;
    const b = candidates[index % candidates.length]!;
    this.setReady(b.key, b.ready - 1);
    return b.key;
  }

  allPodsReady(): void {
    for (const b of this.backends()) this.setReady(b.key, b.desired);
  }

  protected setReady(key: string, ready: number): void {
    if (key === '') {
      if (this.plain) this.plain.ready = ready;
    } else {
      const r = this.revisions.get(key);
      if (r) r.ready = ready;
    }
  }

  /** The Gateway takes the HTTPRoute's current generation. */
  gatewayAccepts(): boolean {
    if (this.gateway.observedGeneration === this.gateway.generation) return false;
    this.gateway.observedGeneration = this.gateway.generation;
    this.gateway.inForce = structuredClone(this.gateway.spec);
    this.gatewayStaleSince = null;
    return true;
  }
}
