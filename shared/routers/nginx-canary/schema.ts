// Configuration of the `nginx-canary` traffic router (SPEC §5, FACTS §7): the user's Ingress that
// ingress-nginx serves, and any extra annotations for the canary Ingress that Switchyard generates
// beside it. The annotations the router itself drives are reserved here, so a target cannot set a
// value that the router would overwrite at every step (or, for canary-weight-total, silently change
// what a weight of N means), and snippets are refused. This schema is the one copy: the
// ReleaseTarget's trafficRouting.nginx is this schema, so validate, apply and the step's
// re-validation of a stored target all refuse what the router refuses.
import { z } from 'zod';
import { nginxAnnotations } from '../../kubernetes/guard.ts';
import { dns1123Subdomain } from '../../target/names.ts';

/** The ingress-nginx canary annotations (defined once, beside the serving guard that reads them). */
export { nginxAnnotations };

/** On the canary Ingress: the name of the header route in force (ingress-nginx has no place for it). */
export const headerRouteAnnotation = 'switchyard.dev/header-route';

/** Suffix of the canary Ingress's name: `<stableIngress>-canary`. */
export const canarySuffix = '-canary';

/**
 * Why the target may not set annotation `key` on the canary Ingress, or null when it may:
 * - the canary annotations (`nginx.ingress.kubernetes.io/canary*`) are the router's to drive: it
 *   writes canary, canary-weight and the header route's at every step, and canary-weight-total
 *   would make "setWeight: 10" mean 1 % of a total of 1000. canary-by-header-pattern is the one
 *   left to the target: the router never writes it, and ingress-nginx reads it only beside the
 *   router's canary-by-header, and not while a canary-by-header-value is set;
 * - a `*-snippet` annotation (configuration-snippet, server-snippet, auth-snippet, …, under any
 *   prefix, since the controller's annotation prefix is configurable) is raw NGINX configuration,
 *   run by the controller with its own rights for every host it serves (CVE-2021-25742:
 *   a snippet can read the controller's service account token): not for a target author to hand it;
 * - `switchyard.dev/` annotations are Switchyard's own bookkeeping.
 */
export function refusedAnnotation(key: string): string | null {
  if (key.endsWith('-snippet')) {
    return `"${key}" is a snippet annotation: raw NGINX configuration that the ingress controller runs with its own rights for every host it serves; Switchyard does not put snippets on the canary Ingress`;
  }
  if (key.startsWith(nginxAnnotations.canary) && key !== nginxAnnotations.byHeaderPattern) {
    return `"${key}" is set by the router itself: the canary annotations (nginx.ingress.kubernetes.io/canary*) come from the steps (weights, header routes), and canary-weight-total would change what setWeight: N means; only canary-by-header-pattern may be added`;
  }
  if (key.startsWith('switchyard.dev/'))
    return `"${key}": switchyard.dev/ annotations are Switchyard's own bookkeeping`;
  return null;
}

// A DNS-1123 subdomain (Ingress names), short enough that the canary's name still is one.
const ingressName = dns1123Subdomain(
  'an Ingress name',
  253 - canarySuffix.length,
  `at most ${253 - canarySuffix.length} characters, so "<name>-canary" fits`,
);

// An annotation key: an optional DNS-subdomain prefix and "/", then a name of at most 63 characters.
const annotationKey = z
  .string()
  .regex(
    /^([a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*\/)?[A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?$/,
    'must be an annotation key: an optional DNS prefix and "/", then a name of at most 63 letters, digits, "-", "_" or "."',
  )
  .superRefine((key, ctx) => {
    const why = refusedAnnotation(key);
    if (why) ctx.addIssue({ code: 'custom', message: why });
  });

export const nginxCanaryConfigSchema = z.strictObject({
  stableIngress: ingressName.describe(
    "The user's Ingress in the target's namespace, served by ingress-nginx. Switchyard never changes it; it creates the canary Ingress <stableIngress>-canary beside it.",
  ),
  additionalIngressAnnotations: z
    .record(annotationKey, z.string())
    .optional()
    .describe(
      'Extra annotations for the canary Ingress, e.g. nginx.ingress.kubernetes.io/canary-by-header-pattern (ingress-nginx ignores a pattern while a header route with a value is in force). Refused: the other nginx.ingress.kubernetes.io/canary* annotations (the router drives them; canary-weight-total would change what a weight means), any *-snippet annotation, and switchyard.dev/ keys.',
    ),
});

/** The `nginx-canary` router's configuration as validated. */
export type NginxCanaryConfig = z.output<typeof nginxCanaryConfigSchema>;
