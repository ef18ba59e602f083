// Configuration of the `gateway-httproute` traffic router: the user's Gateway API HTTPRoute (in the
// release's namespace) whose backendRefs weights Switchyard sets (SPEC §5, FACTS §7). The one copy:
// the ReleaseTarget's trafficRouting.gatewayAPI is this schema.
import { z } from 'zod';

export const gatewayHttpRouteConfigSchema = z.strictObject({
  /** Name of the HTTPRoute, in the namespace of the release. */
  httpRoute: z
    .string()
    .max(253)
    .regex(/^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$/, 'must be a Kubernetes object name')
    .describe('The HTTPRoute whose backendRefs weights Switchyard sets.'),
  /**
   * Index of the rule whose backendRefs are weighted, counted among the user's own rules (the rules
   * Switchyard adds for header routes do not count). Default: every rule that references the stable
   * Service. An HTTPRoute holds at most 16 rules.
   */
  rule: z
    .int()
    .min(0)
    .max(15)
    .optional()
    .describe('Index of the weighted rule (default: every rule with the stable Service).'),
});

/** A parsed gateway-httproute router configuration. */
export type GatewayHttpRouteConfig = z.infer<typeof gatewayHttpRouteConfigSchema>;
