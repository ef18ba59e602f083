// Configuration of the `web` metric provider: one HTTP request, to a URL or to a Service in the
// target's namespace through the Kubernetes API server's service proxy, and optionally a JSONPath
// to the value in the JSON answer. Field names follow Argo Rollouts' web provider where they match.
import { z } from 'zod';
import { headerRefused, refusedHeaderMessage, staticRefusal } from '../../../egress/policy.ts';
import { serviceName } from '../../../target/names.ts';
import { parseJsonPath } from './jsonpath.ts';
import { servicePathRefusal } from './proxy-path.ts';

// A named Service port (an IANA_SVC_NAME): lowercase letters, digits and inner hyphens, at least one letter.
const portName = /^(?=.*[a-z])[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;

/** The Service to ask through the API server's proxy; `port` is its number or its name. */
export const webServiceSchema = z.strictObject({
  name: serviceName,
  port: z.union([
    z.int().min(1).max(65535),
    z.string().max(15).regex(portName, 'a port name (letters, digits, inner hyphens)'),
  ]),
  path: z
    .string()
    .startsWith('/', 'path starts with "/"')
    .superRefine((path, ctx) => {
      const refusal = path.startsWith('/') ? servicePathRefusal(path) : undefined;
      if (refusal) ctx.addIssue({ code: 'custom', message: refusal });
    })
    .describe(
      'Path of the request, starting with / (a query string may follow); no "." or ".." segments, encoded or not.',
    ),
  scheme: z.enum(['http', 'https']).optional(),
});

export const webHeaderSchema = z.strictObject({
  name: z
    .string()
    .regex(/^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/, 'an HTTP header name')
    .superRefine((name, ctx) => {
      if (headerRefused(name)) ctx.addIssue({ code: 'custom', message: refusedHeaderMessage(name) });
    }),
  value: z.string(),
});

export const webConfigSchema = z
  .strictObject({
    url: z
      .url({ protocol: /^https?$/ })
      .superRefine((url, ctx) => {
        const refusal = staticRefusal(url);
        if (refusal) ctx.addIssue({ code: 'custom', message: refusal.message });
      })
      .optional()
      .describe(
        'An http(s) URL. Exactly one of url and service. Link-local and metadata addresses are refused; private and loopback ones only where the installation allows them (SWITCHYARD_EGRESS_ALLOW).',
      ),
    service: webServiceSchema.optional(),
    method: z.enum(['GET', 'POST', 'PUT']).default('GET'),
    headers: z.array(webHeaderSchema).optional(),
    body: z.string().optional(),
    timeoutSeconds: z.int().min(1).max(600).default(10),
    jsonPath: z
      .string()
      .optional()
      .superRefine((path, ctx) => {
        if (path === undefined) return;
        const parsed = parseJsonPath(path);
        if ('error' in parsed) ctx.addIssue({ code: 'custom', message: parsed.error });
      }),
    /** Statuses that count as an answer; absent: any 2xx. */
    successStatus: z.array(z.int().min(100).max(599)).min(1).optional(),
  })
  .superRefine((c, ctx) => {
    if ((c.url === undefined) === (c.service === undefined)) {
      ctx.addIssue({ code: 'custom', message: 'give exactly one of url and service', path: ['url'] });
    }
    // fetch refuses a body on GET; say so at validation time rather than at the first measurement.
    if (c.body !== undefined && c.method === 'GET') {
      ctx.addIssue({ code: 'custom', message: 'a body needs method POST or PUT', path: ['body'] });
    }
  });

/** A validated `web` configuration (defaults applied). */
export type WebConfig = z.output<typeof webConfigSchema>;
/** A `web` configuration as written (before defaults). */
export type WebConfigInput = z.input<typeof webConfigSchema>;
