// What the nginx-canary router writes, computed purely: the name and wanted shape of the canary
// Ingress it owns beside the user's, the annotations that carry the weight and header route, and
// the merge patches that take an Ingress read back to that shape.
import type { V1HTTPIngressPath, V1Ingress, V1IngressRule } from '@kubernetes/client-node';
import { invalid } from '../../errors.ts';
import { annotations, labels, managerName } from '../../kubernetes/types.ts';
import type { HeaderRoute, RouterContext } from '../router.ts';
import { canarySuffix, headerRouteAnnotation, type NginxCanaryConfig, nginxAnnotations } from './schema.ts';

/** Name of the canary Ingress the router owns for `config`. */
export function canaryIngressName(config: NginxCanaryConfig): string {
  return `${config.stableIngress}${canarySuffix}`;
}

// The annotations that carry a header route: setWeight removes those it no longer wants. Other keys
// (the user's additional annotations, anything added by hand) are left to prepare, which converges
// the whole object.
export const routeKeys = new Set<string>([
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
export function wantedAnnotations(
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

/** The parts of the canary Ingress the router changes after creating it (a merge patch of them). */
export interface IngressPatch {
  metadata: { resourceVersion: string | undefined; annotations?: Record<string, string | null> };
  spec?: {
    ingressClassName: string | null;
    rules: V1IngressRule[];
    defaultBackend: null;
    tls: null;
  };
}

/** `value` as plain JSON data: no class instances, no undefined-valued keys. */
function plain<T>(value: T): T {
  return JSON.parse(JSON.stringify(value)) as T;
}

/** A string equal for equal JSON data whatever the key order (objects read back vs built here). */
export function canonical(value: unknown): string {
  return JSON.stringify(value, (_key, v: unknown) =>
    v && typeof v === 'object' && !Array.isArray(v)
      ? Object.fromEntries(Object.entries(v).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)))
      : v,
  );
}
