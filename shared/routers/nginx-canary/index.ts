// The `nginx-canary` traffic router (ingress-nginx, FACTS §7). As in Argo Rollouts' nginx router, the
// user's Ingress stays as it is and Switchyard owns a second Ingress `<stableIngress>-canary` with the
// same class, hosts and paths, whose backends are the canary Service and whose canary annotations say
// how much traffic it takes (canary-weight) and which requests it takes whatever the weight
// (canary-by-header[-value], canary-by-cookie). ingress-nginx merges it into the stable Ingress's
// locations. Every write reads first and changes only what differs, so a redelivered step writes
// nothing; every failure is a ClusterError whose `kind` decides retry or give up.
//
// This file is the module's entry and the router, which wires the pure parts (canary-ingress.ts
// builds what is written, route-state.ts reads what is in force) to the API calls of ingress-api.ts.
import { invalid } from '../../errors.ts';
import { ClusterError, toClusterError } from '../../kubernetes/errors.ts';
import { annotations, managerName } from '../../kubernetes/types.ts';
import type { RouteState, TrafficRouter } from '../router.ts';
import {
  annotationPatch,
  canaryIngressName,
  canonical,
  desiredCanaryIngress,
  type IngressPatch,
  routeKeys,
  wantedAnnotations,
} from './canary-ingress.ts';
import { assertManaged, networking, patchIngress, readIngress } from './ingress-api.ts';
import { readRoute } from './route-state.ts';
import type { NginxCanaryConfig } from './schema.ts';

export { annotationPatch, canaryIngressName, desiredCanaryIngress } from './canary-ingress.ts';
export { readRoute } from './route-state.ts';
export { type NginxCanaryConfig, nginxCanaryConfigSchema } from './schema.ts';

/** The `nginx-canary` router. Stateless: everything it knows is in the canary Ingress. */
export function nginxCanaryRouter(): TrafficRouter<NginxCanaryConfig> {
  return {
    /**
     * Creates the canary Ingress at weight 0 without a header route, or converges an existing one of
     * Switchyard's to exactly that (labels, annotations, class and rules copied from the stable
     * Ingress again; a leftover of an earlier release is taken over). Idempotent; no write when
     * equal. Throws 'not-found' when the stable Ingress is missing, 'unsafe' when an Ingress of the
     * canary's name exists that Switchyard does not manage, 'conflict' (retriable) while it is being
     * deleted or when it changed between read and write.
     */
    async prepare(config, ctx) {
      const api = networking(ctx.kubeConfig);
      const name = canaryIngressName(config);
      const stable = await readIngress(api, ctx.namespace, config.stableIngress);
      if (!stable) {
        throw new ClusterError(
          'not-found',
          `Ingress "${config.stableIngress}" not found in namespace "${ctx.namespace}": create it, or fix stableIngress in the target's nginx traffic routing`,
          { status: 404 },
        );
      }
      const desired = desiredCanaryIngress(config, ctx, stable, 0, null);
      let current = await readIngress(api, ctx.namespace, name);
      if (!current) {
        try {
          await api.createNamespacedIngress({
            namespace: ctx.namespace,
            body: desired,
            fieldManager: managerName,
          });
          return;
        } catch (err) {
          const e = toClusterError(err, `creating Ingress "${name}" in namespace "${ctx.namespace}"`);
          if (e.kind !== 'conflict') throw e;
        }
        // Created by a concurrent delivery of the same step between our read and our create.
        current = await readIngress(api, ctx.namespace, name);
        if (!current) {
          throw new ClusterError(
            'conflict',
            `Ingress "${name}" in namespace "${ctx.namespace}" came and went`,
          );
        }
      }
      assertManaged(current, ctx.namespace);
      if (current.metadata?.deletionTimestamp) {
        throw new ClusterError(
          'conflict',
          `Ingress "${name}" in namespace "${ctx.namespace}" is being deleted: retry once it is gone`,
        );
      }

      // We own the whole object, so every annotation we did not ask for goes (e.g. a pattern from an
      // earlier configuration), and the spec is replaced (merge patch replaces lists whole).
      const patch: IngressPatch = { metadata: { resourceVersion: current.metadata?.resourceVersion } };
      const annotationChanges = annotationPatch(
        current.metadata?.annotations ?? {},
        desired.metadata?.annotations ?? {},
        () => true,
      );
      if (annotationChanges) patch.metadata.annotations = annotationChanges;
      const wantedClass = desired.spec?.ingressClassName ?? null;
      const sameSpec =
        (current.spec?.ingressClassName ?? null) === wantedClass &&
        canonical(current.spec?.rules ?? []) === canonical(desired.spec?.rules ?? []) &&
        !current.spec?.defaultBackend &&
        (current.spec?.tls ?? []).length === 0;
      if (!sameSpec) {
        patch.spec = {
          ingressClassName: wantedClass,
          rules: desired.spec?.rules ?? [],
          defaultBackend: null,
          tls: null,
        };
      }
      if (!annotationChanges && !patch.spec) return;
      await patchIngress(api, ctx.namespace, name, patch);
    },

    /**
     * Sets canary-weight and the header route annotations (header route null: they are removed),
     * writing only the annotations that differ — none when all are equal. Throws 'invalid' for a
     * weight that is not an integer 0..100 or a header route with neither header nor cookie,
     * 'not-found' when the canary Ingress is missing (it is not recreated: a late step after
     * finalize must not bring the canary back), 'unsafe' when it is not Switchyard's or another
     * release took it over, 'conflict' (retriable) when it changed between read and write.
     */
    async setWeight(config, ctx, weight, headerRoute) {
      if (!Number.isInteger(weight) || weight < 0 || weight > 100) {
        throw invalid(`canary weight ${weight} is not an integer percentage (0..100)`);
      }
      if (headerRoute && !headerRoute.header?.name && !headerRoute.cookie) {
        throw invalid(`header route "${headerRoute.name}" names neither a header nor a cookie`);
      }
      const api = networking(ctx.kubeConfig);
      const name = canaryIngressName(config);
      const current = await readIngress(api, ctx.namespace, name);
      if (!current) {
        throw new ClusterError(
          'not-found',
          `canary Ingress "${name}" not found in namespace "${ctx.namespace}": it is created when the canary starts (prepare) and was deleted since`,
          { status: 404 },
        );
      }
      assertManaged(current, ctx.namespace);
      const owner = current.metadata?.annotations?.[annotations.release];
      if (owner !== undefined && owner !== ctx.releaseId) {
        throw new ClusterError(
          'unsafe',
          `canary Ingress "${name}" in namespace "${ctx.namespace}" now belongs to release "${owner}": not changing its weight for release "${ctx.releaseId}"`,
        );
      }
      const changes = annotationPatch(
        current.metadata?.annotations ?? {},
        wantedAnnotations(config, ctx, weight, headerRoute),
        (key) => routeKeys.has(key),
      );
      if (!changes) return;
      await patchIngress(api, ctx.namespace, name, {
        metadata: { resourceVersion: current.metadata?.resourceVersion, annotations: changes },
      });
    },

    /**
     * Reads only. The weight and header route of the canary Ingress's annotations; no canary Ingress
     * means weight 0 and no header route, in force (all traffic takes the stable Ingress's paths).
     * There is no controller status to wait for: ingress-nginx reports no per-generation acceptance
     * of an Ingress (its status only carries load-balancer addresses), so `accepted` means the
     * object is the shape the router writes (canary on, a valid weight, every backend the canary
     * Service, this release's) and `message` says what is off when it is not. Throws 'unsafe' when
     * an Ingress of that name exists that Switchyard does not manage.
     */
    async observe(config, ctx): Promise<RouteState> {
      const name = canaryIngressName(config);
      const current = await readIngress(networking(ctx.kubeConfig), ctx.namespace, name);
      if (!current) {
        return {
          weight: 0,
          headerRoute: null,
          accepted: true,
          message: `no canary Ingress "${name}": all traffic goes to the stable Service`,
        };
      }
      assertManaged(current, ctx.namespace);
      const { weight, headerRoute, problems } = readRoute(current, ctx);
      if (current.metadata?.deletionTimestamp) problems.push('it is being deleted');
      return problems.length === 0
        ? { weight, headerRoute, accepted: true }
        : {
            weight,
            headerRoute,
            accepted: false,
            message: `canary Ingress "${name}": ${problems.join('; ')}`,
          };
    },

    /**
     * Deletes the canary Ingress, so all traffic takes the stable Ingress. Idempotent: missing or
     * already being deleted is success, and so is one that another release has taken over since
     * (its own finalize removes it). The delete is conditioned on the uid checked, so one recreated
     * meanwhile is not removed unchecked. Never touches the stable Ingress. Throws 'unsafe' when an
     * Ingress of that name exists that Switchyard does not manage.
     */
    async finalize(config, ctx) {
      const api = networking(ctx.kubeConfig);
      const name = canaryIngressName(config);
      const current = await readIngress(api, ctx.namespace, name);
      if (!current || current.metadata?.deletionTimestamp) return;
      assertManaged(current, ctx.namespace);
      const owner = current.metadata?.annotations?.[annotations.release];
      if (owner !== undefined && owner !== ctx.releaseId) return;
      try {
        await api.deleteNamespacedIngress({
          name,
          namespace: ctx.namespace,
          body: { preconditions: { uid: current.metadata?.uid } },
        });
      } catch (err) {
        const e = toClusterError(err, `deleting Ingress "${name}" in namespace "${ctx.namespace}"`);
        if (e.kind !== 'not-found') throw e;
      }
    },

    /**
     * The user's stable Ingress (every backend takes traffic) and the canary Ingress (its backends
     * take traffic while its weight is above 0 or a header or cookie rule is set).
     */
    routeObjects(config) {
      return [
        { kind: 'Ingress', name: config.stableIngress },
        { kind: 'Ingress', name: canaryIngressName(config) },
      ];
    },
  };
}
