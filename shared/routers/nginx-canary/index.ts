// The `nginx-canary` traffic router (ingress-nginx, FACTS §7). As in Argo Rollouts' nginx router, the
// user's Ingress stays as it is and Switchyard owns a second Ingress `<stableIngress>-canary` with the
// same class, hosts and paths, whose backends are the canary Service and whose canary annotations say
// how much traffic it takes (canary-weight) and which requests it takes whatever the weight
// (canary-by-header[-value], canary-by-cookie). ingress-nginx merges it into the stable Ingress's
// locations. Every write reads first and changes only what differs, so a redelivered step writes
// nothing; every failure is a ClusterError whose `kind` decides retry or give up.
import {
  type KubeConfig,
  NetworkingV1Api,
  PatchStrategy,
  setHeaderOptions,
  type V1HTTPIngressPath,
  type V1Ingress,
  type V1IngressRule,
} from '@kubernetes/client-node';
import { invalid } from '../../errors.ts';
import { apiClient } from '../../kubernetes/client.ts';
import { ClusterError, toClusterError } from '../../kubernetes/errors.ts';
import { annotations, labels, managerName } from '../../kubernetes/types.ts';
import type { HeaderRoute, RouterContext, RouteState, TrafficRouter } from '../router.ts';
import { canarySuffix, headerRouteAnnotation, type NginxCanaryConfig, nginxAnnotations } from './schema.ts';

export { type NginxCanaryConfig, nginxCanaryConfigSchema } from './schema.ts';

/** Name of the canary Ingress the router owns for `config`. */
export function canaryIngressName(config: NginxCanaryConfig): string {
  return `${config.stableIngress}${canarySuffix}`;
}

// The annotations that carry a header route: setWeight removes those it no longer wants. Other keys
// (the user's additional annotations, anything added by hand) are left to prepare, which converges
// the whole object.
const routeKeys = new Set<string>([
  nginxAnnotations.byHeader,
  nginxAnnotations.byHeaderValue,
  nginxAnnotations.byCookie,
  headerRouteAnnotation,
]);

// The legacy class annotation: a stable Ingress that names its class this way needs its canary to
// name the same class, or another controller (or none) would pick the canary up.
const legacyClassAnnotation = 'kubernetes.io/ingress.class';

/**
 * The canary Ingress wanted for `stable` (pure): its rules are the stable Ingress's rules with only
 * the paths whose backend is `ctx.stableService`, each pointed at `ctx.canaryService` on the same
 * port. Paths to other Services are left out (a canary of someone else's backend would split traffic
 * between that backend and our canary). TLS and the default backend stay with the stable Ingress,
 * which ingress-nginx takes them from. Throws 'invalid' when no path uses the stable Service.
 */
export function desiredCanaryIngress(
  config: NginxCanaryConfig,
  ctx: RouterContext,
  stable: V1Ingress,
  weight: number,
  route: HeaderRoute | null,
): V1Ingress {
  const rules: V1IngressRule[] = [];
  for (const rule of stable.spec?.rules ?? []) {
    const paths: V1HTTPIngressPath[] = [];
    for (const p of rule.http?.paths ?? []) {
      const service = p.backend.service;
      if (service?.name !== ctx.stableService) continue;
      paths.push({ ...p, backend: { service: { name: ctx.canaryService, port: service.port } } });
    }
    if (paths.length > 0) rules.push({ ...rule, http: { paths } });
  }
  if (rules.length === 0) {
    throw invalid(
      `Ingress "${config.stableIngress}" in namespace "${ctx.namespace}" has no path whose backend is Service "${ctx.stableService}": the canary Ingress copies those paths; point the Ingress at the stable Service, or fix stableService in the target`,
    );
  }
  const legacyClass = stable.metadata?.annotations?.[legacyClassAnnotation];
  return plain({
    apiVersion: 'networking.k8s.io/v1',
    kind: 'Ingress',
    metadata: {
      name: canaryIngressName(config),
      namespace: ctx.namespace,
      labels: { [labels.managedBy]: managerName },
      annotations: {
        ...(legacyClass !== undefined && { [legacyClassAnnotation]: legacyClass }),
        ...wantedAnnotations(config, ctx, weight, route),
      },
    },
    spec: {
      ...(stable.spec?.ingressClassName !== undefined && { ingressClassName: stable.spec.ingressClassName }),
      rules,
    },
  });
}

/** The annotations setWeight asserts (pure): canary on, the weight, the header route, bookkeeping. */
function wantedAnnotations(
  config: NginxCanaryConfig,
  ctx: RouterContext,
  weight: number,
  route: HeaderRoute | null,
): Record<string, string> {
  const wanted: Record<string, string> = {
    ...config.additionalIngressAnnotations,
    [annotations.release]: ctx.releaseId,
    [nginxAnnotations.canary]: 'true',
    [nginxAnnotations.weight]: String(weight),
  };
  if (route) {
    wanted[headerRouteAnnotation] = route.name;
    if (route.header) {
      wanted[nginxAnnotations.byHeader] = route.header.name;
      // With a -value, ingress-nginx routes on that exact value (and ignores any -pattern).
      wanted[nginxAnnotations.byHeaderValue] = route.header.value;
    }
    if (route.cookie) wanted[nginxAnnotations.byCookie] = route.cookie;
  }
  return wanted;
}

/**
 * The merge patch of metadata.annotations taking `current` to `wanted` (pure): changed or missing
 * keys get their wanted value, keys that `removable` accepts and `wanted` lacks get null. Null when
 * nothing differs, so the caller makes no write.
 */
export function annotationPatch(
  current: Record<string, string>,
  wanted: Record<string, string>,
  removable: (key: string) => boolean,
): Record<string, string | null> | null {
  const patch: Record<string, string | null> = {};
  for (const [key, value] of Object.entries(wanted)) if (current[key] !== value) patch[key] = value;
  for (const key of Object.keys(current)) if (!(key in wanted) && removable(key)) patch[key] = null;
  return Object.keys(patch).length > 0 ? patch : null;
}

/**
 * What the canary Ingress's annotations say is in force (pure). ingress-nginx reads a missing weight
 * as 0 and a canary-by-header without a value as "route when the header is `always`", so that is
 * what is reported. Also lists what keeps the object from being the shape the router writes.
 */
export function readRoute(
  ingress: V1Ingress,
  ctx: RouterContext,
): { weight: number; headerRoute: HeaderRoute | null; problems: string[] } {
  const a = ingress.metadata?.annotations ?? {};
  const problems: string[] = [];
  if (a[nginxAnnotations.canary] !== 'true') problems.push(`${nginxAnnotations.canary} is not "true"`);
  if (a[annotations.release] !== ctx.releaseId) {
    problems.push(`it belongs to release "${a[annotations.release] ?? '(none)'}", not "${ctx.releaseId}"`);
  }

  const rawWeight = a[nginxAnnotations.weight];
  let weight = 0;
  if (rawWeight !== undefined && /^(100|[1-9]?[0-9])$/.test(rawWeight)) weight = Number(rawWeight);
  else problems.push(`${nginxAnnotations.weight} is ${JSON.stringify(rawWeight)}, not a percentage`);

  const rules = ingress.spec?.rules ?? [];
  const backends = rules.flatMap((r) => (r.http?.paths ?? []).map((p) => p.backend.service?.name));
  if (backends.length === 0) problems.push('it has no paths');
  if (backends.some((b) => b !== ctx.canaryService) || ingress.spec?.defaultBackend) {
    problems.push(`not every backend is Service "${ctx.canaryService}"`);
  }

  const header = a[nginxAnnotations.byHeader];
  const value = a[nginxAnnotations.byHeaderValue];
  const cookie = a[nginxAnnotations.byCookie];
  if (value !== undefined && header === undefined) {
    problems.push(`${nginxAnnotations.byHeaderValue} is set without ${nginxAnnotations.byHeader}`);
  }
  let headerRoute: HeaderRoute | null = null;
  if (header !== undefined || cookie !== undefined) {
    headerRoute = { name: a[headerRouteAnnotation] ?? header ?? cookie ?? '' };
    if (header !== undefined) headerRoute.header = { name: header, value: value ?? 'always' };
    if (cookie !== undefined) headerRoute.cookie = cookie;
  }
  return { weight, headerRoute, problems };
}

// Patches are JSON merge patches: they state the resulting values and `null` removes a key (the
// client's default would be a JSON patch).
const mergePatch = setHeaderOptions('Content-Type', PatchStrategy.MergePatch);

// One client per KubeConfig: contexts are built per invocation, and the router itself is stateless.
const clients = new WeakMap<KubeConfig, NetworkingV1Api>();

function networking(kubeConfig: KubeConfig): NetworkingV1Api {
  let api = clients.get(kubeConfig);
  if (!api) {
    api = apiClient(kubeConfig, NetworkingV1Api);
    clients.set(kubeConfig, api);
  }
  return api;
}

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

/** The parts of the canary Ingress the router changes after creating it (a merge patch of them). */
interface IngressPatch {
  metadata: { resourceVersion: string | undefined; annotations?: Record<string, string | null> };
  spec?: {
    ingressClassName: string | null;
    rules: V1IngressRule[];
    defaultBackend: null;
    tls: null;
  };
}

function assertManaged(ingress: V1Ingress, namespace: string): void {
  if (ingress.metadata?.labels?.[labels.managedBy] === managerName) return;
  throw new ClusterError(
    'unsafe',
    `Ingress "${ingress.metadata?.name}" in namespace "${namespace}" exists but is not managed by Switchyard (no ${labels.managedBy}=${managerName} label): Switchyard creates its canary Ingress under that name; rename or delete the existing one`,
  );
}

async function readIngress(api: NetworkingV1Api, namespace: string, name: string): Promise<V1Ingress | null> {
  try {
    return await api.readNamespacedIngress({ name, namespace });
  } catch (err) {
    const e = toClusterError(err, `reading Ingress "${name}" in namespace "${namespace}"`);
    if (e.kind === 'not-found') return null;
    throw e;
  }
}

async function patchIngress(
  api: NetworkingV1Api,
  namespace: string,
  name: string,
  body: IngressPatch,
): Promise<void> {
  // The resourceVersion read makes the patch conditional: a concurrent change ends in a retriable
  // 'conflict' instead of a mix of two writers' annotations.
  try {
    await api.patchNamespacedIngress({ name, namespace, body, fieldManager: managerName }, mergePatch);
  } catch (err) {
    throw toClusterError(err, `patching Ingress "${name}" in namespace "${namespace}"`);
  }
}

/** `value` as plain JSON data: no class instances, no undefined-valued keys. */
function plain<T>(value: T): T {
  return JSON.parse(JSON.stringify(value)) as T;
}

/** A string equal for equal JSON data whatever the key order (objects read back vs built here). */
function canonical(value: unknown): string {
  return JSON.stringify(value, (_key, v: unknown) =>
    v && typeof v === 'object' && !Array.isArray(v)
      ? Object.fromEntries(Object.entries(v).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)))
      : v,
  );
}
