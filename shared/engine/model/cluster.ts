// A model of one target's corner of a Kubernetes cluster, for the model-based test of the engine
// (model.test.ts): the plain Deployment being adopted, the revision Deployments, the user's Services
// and what their EndpointSlices list, an HPA, and the state of the three traffic routers. It reads
// like the adapters read (shared/kubernetes/snapshot.ts and endpoints.ts, runtime/observe.ts observe(), each router's
// observe()) and applies each engine Command as the adapter and the routers apply it, including the
// errors they throw. Pure data and synchronous: the system model (system.ts) decides when time
// passes, when pods become ready and when EndpointSlices catch up.
//
// What it simplifies, on purpose:
// - Pods are counts per backend (the plain Deployment is backend "", a revision is its hash): a
//   Deployment has `desired` pods at once, of which `ready` are ready; pods become ready one at a
//   time on a separate event, a scale-down removes pods at once (ready = min(ready, desired)).
// - EndpointSlices: each Service has a `listed` set (per backend: ready and total endpoints) that
//   catches up with the pods its selector matches on a separate event (`syncEndpoints`), and at the
//   latest `maxLagMs` after it went out of date (bounded lag: the EndpointSlice controller and the
//   Gateway catch up within seconds; a lag beyond every deadline is not a failure of the engine).
//   Without lag the system syncs after every event. kube-proxy sends traffic to what is listed.
// - The Gateway accepts an HTTPRoute generation on an `accept` event, or `maxLagMs` after it.
// - progressDeadlineExceeded is never set (the engine's own deadlines are what the test drives).
// - A router command is one atomic write (the real ones make one to three API calls).
// - The adapter is modelled as at HEAD: the serving guard (kubernetes/deployment-writes.ts refuseIfServing()) in front
//   of every scale to zero and delete, over all the target's Services; a delete needs replicas 0.
//
// The class is built up by concern, one file each: cluster-objects.ts (the objects, errors, base),
// cluster-pods.ts (pods, EndpointSlices, the Gateway), cluster-traffic.ts (what serves, what it
// depends on), cluster-reads.ts (reads as the adapter makes them), and here the writes: each engine
// Command applied as the adapter and the routers apply it, and the line a trace shows.
import { deploymentName, revisionDeployment } from '../../kubernetes/revision.ts';
import type { Command } from '../commands.ts';
import {
  type Deployment,
  ModelError,
  ModelGap,
  type ModelRouterContext,
  matches,
  nameLabel,
  replicaSplit,
  revisionLabel,
  sameRoute,
} from './cluster-objects.ts';
import { ClusterReads } from './cluster-reads.ts';

export class ModelCluster extends ClusterReads {
  /** Carries out one command as runtime/execute.ts + the adapter + the router would; throws ModelError. */
  apply(command: Command, ctx: ModelRouterContext | null): void {
    switch (command.type) {
      case 'EnsureRevision': {
        const spec = command.spec;
        const existing = this.revisions.get(spec.revision);
        if (!existing) {
          const d = revisionDeployment(spec);
          this.revisions.set(spec.revision, {
            name: deploymentName(spec.workload, spec.revision),
            revision: spec.revision,
            desired: spec.replicas,
            ready: 0,
            template: d.spec!.template,
          });
        } else if (existing.desired < spec.replicas) {
          // Only ever scaled up, as the adapter does (ensureRevision).
          this.guard(spec.revision, spec.replicas);
          this.scale(existing, spec.replicas);
        }
        return;
      }
      case 'ScaleRevision':
        this.scaleRevision(command.deployment, command.replicas);
        return;
      case 'ScalePlainDeployment': {
        const p = this.plain;
        if (!p || p.name !== command.deployment)
          throw new ModelError('not-found', `Deployment "${command.deployment}" not found`);
        if (p.desired === command.replicas) return;
        this.guard('', command.replicas);
        if (command.replicas < p.desired && p.adoptedReplicas === null) p.adoptedReplicas = p.desired;
        this.scale(p, command.replicas);
        return;
      }
      case 'SelectRevision':
        this.selectRevision(command.service, command.revision);
        return;
      case 'RestoreSelector':
        if (!this.selectors.has(command.service))
          throw new ModelError('not-found', `Service "${command.service}" not found`);
        this.selectors.set(command.service, { ...command.selector });
        return;
      case 'MoveHpa':
        if (command.from !== command.to && this.hpa?.target === command.from) this.hpa.target = command.to;
        return;
      case 'DeleteRevision': {
        const r = this.byDeployment(command.deployment);
        if (!r) return;
        // deleteRevision(): only once scaled to zero, then through the guard.
        if (r.desired > 0)
          throw new ModelError(
            'in-use',
            `refusing to delete ${r.name}: it still has ${r.desired} replicas; it is scaled to zero first`,
          );
        this.guard(r.revision, 0);
        this.revisions.delete(r.revision);
        return;
      }
      case 'PrepareRouter':
      case 'SetWeight':
      case 'FinalizeRouter':
        if (!ctx) throw new ModelError('invalid', `${command.type}: no canary revisions to route between`);
        this.route(command, ctx);
        return;
      default:
        // A command the engine learned after this model was written: fail loudly, never skip it.
        throw new ModelGap(
          `the model cluster does not know command ${(command as { type: string }).type}: teach ModelCluster.apply() what the adapter does with it`,
        );
    }
  }

  private scale(d: Deployment, replicas: number): void {
    d.desired = replicas;
    d.ready = Math.min(d.ready, replicas);
  }

  private scaleRevision(deployment: string, replicas: number): void {
    const r = this.byDeployment(deployment);
    if (!r) throw new ModelError('not-found', `Deployment "${deployment}" not found`);
    if (r.desired === replicas) return;
    this.guard(r.revision, replicas);
    this.scale(r, replicas);
  }

  /**
   * kubernetes/deployment-writes.ts refuseIfServing() at HEAD, over the target's Services, reading selectors and
   * EndpointSlices as they are now: taking backend `key` to zero is refused when a Service selects
   * it (by its revision, or by labels while no other revision behind it has a ready endpoint) or,
   * no longer selecting it, still lists its endpoints. A resize that leaves replicas passes.
   */
  private guard(key: string, replicasAfter: number): void {
    if (replicasAfter > 0) return;
    const b = this.backend(key);
    if (!b) return;
    for (const service of this.config.services) {
      const selector = this.selectors.get(service) ?? {};
      const selects = matches(selector, b.labels);
      const counts = this.endpoints(service);
      let othersReady = 0;
      for (const [rev, n] of Object.entries(counts.readyByRevision)) if (rev !== key) othersReady += n;
      if (selects && (selector[revisionLabel] !== undefined || othersReady === 0)) {
        throw new ModelError(
          'in-use',
          `refusing to take down ${b.deployment}: Service "${service}" selects it`,
        );
      }
      const listed = counts.totalByRevision[key] ?? 0;
      if (!selects && listed > 0) {
        throw new ModelError(
          'in-use',
          `refusing to take down ${b.deployment}: Service "${service}" still lists ${listed} of its endpoints`,
        );
      }
    }
  }

  private selectRevision(service: string, revision: string): void {
    if (!this.selectors.has(service)) throw new ModelError('not-found', `Service "${service}" not found`);
    this.selectors.set(service, { [nameLabel]: this.config.workload, [revisionLabel]: revision });
  }

  private route(
    command: Extract<Command, { type: 'PrepareRouter' | 'SetWeight' | 'FinalizeRouter' }>,
    ctx: ModelRouterContext,
  ): void {
    if (command.type === 'SetWeight') {
      const w = command.weight;
      if (!Number.isInteger(w) || w < 0 || w > 100) throw new ModelError('invalid', `weight ${w}`);
    }
    switch (this.config.router) {
      case 'gatewayAPI': {
        const want =
          command.type === 'PrepareRouter'
            ? { canary: 0, header: null }
            : command.type === 'SetWeight'
              ? { canary: command.weight, header: command.headerRoute }
              : { canary: null, header: null };
        if (want.header && (!want.header.header || want.header.cookie !== undefined))
          throw new ModelError('invalid', 'an HTTPRoute matches on headers only');
        const g = this.gateway;
        if (g.spec.canary !== want.canary || !sameRoute(g.spec.header, want.header)) {
          g.spec = want;
          g.generation += 1;
        }
        return;
      }
      case 'nginx': {
        const ing = this.ingress;
        if (command.type === 'PrepareRouter') {
          this.ingress = { release: ctx.releaseId, weight: 0, header: null };
          return;
        }
        if (command.type === 'SetWeight') {
          if (!ing) throw new ModelError('not-found', 'canary Ingress not found');
          if (ing.release !== ctx.releaseId)
            throw new ModelError('unsafe', `canary Ingress belongs to release "${ing.release}"`);
          ing.weight = command.weight;
          ing.header = command.headerRoute;
          return;
        }
        if (ing && ing.release === ctx.releaseId) this.ingress = null;
        return;
      }
      case 'none': {
        if (command.type === 'FinalizeRouter') {
          const keeper =
            command.stableRevision === ctx.canaryRevision ? ctx.canaryDeployment : ctx.stableDeployment;
          const status = this.revisionStatus(keeper);
          if (!status.exists) throw new ModelError('not-found', `Deployment "${keeper}" not found`);
          if (status.desired < ctx.replicas) this.scaleRevision(keeper, ctx.replicas);
          if (status.ready === 0)
            throw new ModelError(
              'unavailable',
              `not narrowing to ${command.stableRevision}: no ready replica yet`,
            );
          this.selectRevision(ctx.stableService, command.stableRevision);
          return;
        }
        if (command.type === 'SetWeight' && command.headerRoute !== null)
          throw new ModelError('invalid', 'replica ratio cannot route by header');
        const weight = command.type === 'SetWeight' ? command.weight : 0;
        const want = replicaSplit(ctx.replicas, weight);
        const canaryNow = this.revisionStatus(ctx.canaryDeployment);
        // service-selector apply(): the growing side first; the other shrinks, but not to zero
        // while the grown side has no ready replica (the guard would refuse it).
        const stableNow = this.revisionStatus(ctx.stableDeployment);
        const sides = [
          { deployment: ctx.canaryDeployment, now: canaryNow, want: want.canary },
          { deployment: ctx.stableDeployment, now: stableNow, want: want.stable },
        ];
        const growing = sides.filter((x) => !x.now.exists || x.want >= x.now.desired);
        const shrinking = sides.filter((x) => x.now.exists && x.want < x.now.desired);
        for (const x of growing) this.scaleRevision(x.deployment, x.want);
        const grownReady = growing.some((x) => x.now.exists && x.now.ready > 0);
        for (const x of shrinking) if (x.want > 0 || grownReady) this.scaleRevision(x.deployment, x.want);
        if (!this.selectors.has(ctx.stableService))
          throw new ModelError('not-found', `Service "${ctx.stableService}" not found`);
        this.selectors.set(ctx.stableService, { [nameLabel]: this.config.workload });
        return;
      }
      default:
        throw new ModelError('invalid', 'no router configured');
    }
  }

  // ---- for traces ----------------------------------------------------------------------------

  describe(alias: (revision: string) => string): string {
    const parts: string[] = [];
    if (this.plain) parts.push(`plain ${this.plain.ready}/${this.plain.desired}`);
    for (const r of this.revisions.values()) parts.push(`${alias(r.revision)} ${r.ready}/${r.desired}`);
    for (const s of this.config.services) {
      const sel = this.selectors.get(s) ?? {};
      const rev = sel[revisionLabel];
      const listing = [...(this.listed.get(s) ?? new Map())]
        .map(([k, l]) => `${k === '' ? 'plain' : alias(k)}:${l.ready}/${l.total}`)
        .join(',');
      parts.push(`${s}→${rev ? alias(rev) : '*'}[${listing}]`);
    }
    if (this.config.router === 'gatewayAPI') {
      const g = this.gateway;
      parts.push(
        `route ${g.spec.canary ?? '-'}% gen ${g.generation}${g.observedGeneration === g.generation ? '' : ` (in force ${g.inForce.canary ?? '-'}%)`}`,
      );
    }
    if (this.config.router === 'nginx') {
      parts.push(
        this.ingress ? `ingress ${this.ingress.weight}% of ${this.ingress.release}` : 'no canary ingress',
      );
    }
    if (this.hpa) parts.push(`hpa→${this.hpa.target}`);
    return parts.join(' | ');
  }
}
