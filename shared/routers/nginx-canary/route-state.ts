// What the nginx-canary router reads back, purely: the weight and header route that a canary
// Ingress's annotations put in force, and what keeps it from being the shape the router writes
// (ingress-nginx reports no per-generation status, so that shape is all `accepted` can go by).
import type { V1Ingress } from '@kubernetes/client-node';
import { annotations } from '../../kubernetes/types.ts';
import type { HeaderRoute, RouterContext } from '../router.ts';
import { headerRouteAnnotation, nginxAnnotations } from './schema.ts';

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
