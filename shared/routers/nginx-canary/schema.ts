// Configuration of the `nginx-canary` traffic router (SPEC §5, FACTS §7): the user's Ingress that
// ingress-nginx serves, and any extra annotations for the canary Ingress that Switchyard generates
// beside it. The annotations the router itself drives are reserved here, so a target cannot set a
// value that the router would overwrite at every step (or, for canary-weight-total, silently change
// what a weight of N means).
import { z } from 'zod';

const nginxPrefix = 'nginx.ingress.kubernetes.io/';

/** The ingress-nginx canary annotations (docs/user-guide/nginx-configuration/annotations.md#canary). */
export const nginxAnnotations = {
  canary: `${nginxPrefix}canary`,
  weight: `${nginxPrefix}canary-weight`,
  weightTotal: `${nginxPrefix}canary-weight-total`,
  byHeader: `${nginxPrefix}canary-by-header`,
  byHeaderValue: `${nginxPrefix}canary-by-header-value`,
  byHeaderPattern: `${nginxPrefix}canary-by-header-pattern`,
  byCookie: `${nginxPrefix}canary-by-cookie`,
} as const;

/** On the canary Ingress: the name of the header route in force (ingress-nginx has no place for it). */
export const headerRouteAnnotation = 'switchyard.dev/header-route';

/** Suffix of the canary Ingress's name: `<stableIngress>-canary`. */
export const canarySuffix = '-canary';

// Keys the router writes itself. canary-weight-total is refused too: the router's weights are
// percentages, and a total other than 100 would make "setWeight: 10" mean something else.
const reserved = new Set<string>([
  nginxAnnotations.canary,
  nginxAnnotations.weight,
  nginxAnnotations.weightTotal,
  nginxAnnotations.byHeader,
  nginxAnnotations.byHeaderValue,
  nginxAnnotations.byCookie,
]);

// A DNS-1123 subdomain (Ingress names), short enough that the canary's name still is one.
const ingressName = z
  .string()
  .max(253 - canarySuffix.length, `at most ${253 - canarySuffix.length} characters, so "<name>-canary" fits`)
  .regex(
    /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/,
    'must be an Ingress name (DNS-1123 subdomain): lower-case letters, digits, "-" and ".", starting and ending with a letter or digit',
  );

// An annotation key: an optional DNS-subdomain prefix and "/", then a name of at most 63 characters.
const annotationKey = z
  .string()
  .regex(
    /^([a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*\/)?[A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?$/,
    'must be an annotation key: an optional DNS prefix and "/", then a name of at most 63 letters, digits, "-", "_" or "."',
  )
  .refine((key) => !reserved.has(key), {
    error: (issue) =>
      `"${String(issue.input)}" is set by the router itself (weights and header routes come from the steps)`,
  })
  .refine((key) => !key.startsWith('switchyard.dev/'), {
    error: "switchyard.dev/ annotations are Switchyard's own bookkeeping",
  });

export const nginxCanaryConfigSchema = z.strictObject({
  stableIngress: ingressName.describe(
    "The user's Ingress in the target's namespace, served by ingress-nginx. Switchyard never changes it; it creates the canary Ingress <stableIngress>-canary beside it.",
  ),
  additionalIngressAnnotations: z
    .record(annotationKey, z.string())
    .optional()
    .describe(
      'Extra annotations for the canary Ingress, e.g. nginx.ingress.kubernetes.io/canary-by-header-pattern (ingress-nginx ignores a pattern while a header route with a value is in force).',
    ),
});

/** The `nginx-canary` router's configuration as validated. */
export type NginxCanaryConfig = z.output<typeof nginxCanaryConfigSchema>;
