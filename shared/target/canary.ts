// The canary strategy of a ReleaseTarget, with Argo Rollouts' names: stableService, canaryService,
// steps (setWeight, pause, analysis, setCanaryScale, setHeaderRoute), background analysis, and
// trafficRouting (gatewayAPI HTTPRoute, nginx canary Ingress, or none: replica ratio).
import { z } from 'zod';
import { analysisRefSchema } from '../analysis/schema.ts';
import { durationSeconds } from '../duration.ts';
// Each router's configuration comes from its definition, never copied: what validate accepts is
// what the router accepts.
import { trafficRoutingSchema } from '../routers/registry.ts';
import { serviceName } from './names.ts';

const seconds = durationSeconds({ whole: true });

const headerRoute = z.strictObject({
  name: z.string().min(1),
  match: z
    .array(
      z.strictObject({ headerName: z.string().min(1), headerValue: z.strictObject({ exact: z.string() }) }),
    )
    .max(1, 'one header match is supported')
    .optional(),
  cookie: z
    .string()
    .min(1)
    .optional()
    .describe('NGINX canary-by-cookie: requests with this cookie set to "always" go to the canary.'),
});

const step = z.union([
  z.strictObject({ setWeight: z.int().min(0).max(100).describe('Percentage of traffic to the canary.') }),
  z.strictObject({
    pause: z
      .strictObject({ duration: seconds.optional() })
      .describe('With a duration, wait that long; without, wait for `switchyard promote`.'),
  }),
  z.strictObject({ analysis: analysisRefSchema }),
  z.strictObject({
    setCanaryScale: z.union([
      z.strictObject({ replicas: z.int().min(0) }),
      z.strictObject({ weight: z.int().min(0).max(100) }),
      z.strictObject({ matchTrafficWeight: z.literal(true) }),
    ]),
  }),
  z.strictObject({ setHeaderRoute: headerRoute }),
]);

export const canarySchema = z
  .strictObject({
    stableService: serviceName.describe(
      'Service of the stable revision; after promotion it selects the new one.',
    ),
    canaryService: serviceName.describe('Service that selects the canary revision.'),
    steps: z.array(step).default([]).describe('The canary steps, in order; promotion follows the last one.'),
    analysis: analysisRefSchema.optional().describe('Background analysis running through the steps.'),
    trafficRouting: trafficRoutingSchema
      .optional()
      .describe('How weights are applied; without it, the weight is approximated by replica counts.'),
    scaleDownDelaySeconds: z
      .int()
      .min(0)
      .default(30)
      .describe('Keep the old revision this long after promotion.'),
    abortScaleDownDelaySeconds: z.int().min(0).default(30),
  })
  .superRefine(
    (c, ctx) => {
      if (!c || typeof c !== 'object') return;
      if (typeof c.stableService === 'string' && c.stableService === c.canaryService) {
        ctx.addIssue({ code: 'custom', path: ['canaryService'], message: 'must differ from stableService' });
      }
      if (!c.trafficRouting && Array.isArray(c.steps)) {
        c.steps.forEach((s, i) => {
          if (s && 'setHeaderRoute' in s) {
            ctx.addIssue({
              code: 'custom',
              path: ['steps', i, 'setHeaderRoute'],
              message: 'needs trafficRouting (gatewayAPI or nginx): replica ratio cannot route by header',
            });
          }
        });
      }
    },
    { when: () => true },
  )
  .describe('Canary release: traffic moves to the new revision in steps, with checks between them.');

export type CanaryStrategy = z.output<typeof canarySchema>;
export type CanaryStep = CanaryStrategy['steps'][number];
