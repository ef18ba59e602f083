// Configuration of the `prometheus` metric provider: a PromQL query against a Prometheus HTTP API,
// either a server's address or Google Managed Prometheus for a project (FACTS §8).
import { z } from 'zod';
import { headerRefused, refusedHeaderMessage, staticRefusal } from '../../../egress/policy.ts';

/** An extra request header (e.g. a tenant id); credential and metadata headers are refused. */
const header = z.strictObject({
  name: z
    .string()
    .regex(/^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/, 'not an HTTP header name')
    .superRefine((name, ctx) => {
      if (headerRefused(name)) ctx.addIssue({ code: 'custom', message: refusedHeaderMessage(name) });
    }),
  value: z.string(),
});

export const prometheusConfigSchema = z
  .strictObject({
    /** The server's base URL; `/api/v1/query` is appended, so a path prefix (Thanos, a proxy) is kept. */
    address: z
      .url({ protocol: /^https?$/, error: 'address must be an http(s) URL' })
      .superRefine((url, ctx) => {
        const refusal = staticRefusal(url);
        if (refusal) ctx.addIssue({ code: 'custom', message: refusal.message });
      })
      .optional(),
    /** Google Managed Prometheus: the project's global query endpoint, with a Google access token. */
    managed: z.strictObject({ project: z.string().min(1) }).optional(),
    /** PromQL; template `args` are substituted before the provider sees it. */
    query: z.string().min(1),
    /** A range query over the window ending now instead of an instant query at now. */
    range: z
      .strictObject({
        /** How far back from now the window starts. */
        seconds: z.int().min(1),
        /** Resolution step of the range query. */
        stepSeconds: z.int().min(1),
      })
      .optional(),
    /** Bound on the whole request; also passed to Prometheus as its query timeout. */
    timeoutSeconds: z.int().min(1).default(10),
    headers: z.array(header).optional(),
  })
  // No default address (e.g. from the environment): a template says where its numbers come from.
  .refine((c) => (c.address === undefined) !== (c.managed === undefined), {
    error: 'set exactly one of address and managed',
  });

/** A parsed prometheus provider configuration (defaults applied). */
export type PrometheusConfig = z.infer<typeof prometheusConfigSchema>;
