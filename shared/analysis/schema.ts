// Analysis templates and the references to them from a strategy, as written in YAML (Argo Rollouts'
// names: interval, count, initialDelay, successCondition, failureCondition, failureLimit,
// inconclusiveLimit, consecutiveErrorLimit, dryRun, args). Conditions are CEL, checked here, at
// apply time; a provider must be one of the registry's.
import { z } from 'zod';
import { durationSeconds } from '../duration.ts';
import { celSyntaxError } from './cel.ts';
import { providerSchemas } from './providers/schemas.ts';

const name = z
  .string()
  .regex(
    /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/,
    'must be lower-case letters, digits and "-", starting and ending with a letter or digit',
  )
  .max(63, 'must be at most 63 characters');

/** A duration as Argo writes it (Go syntax: "30s", "5m", "1h30m", "250ms") or a number of seconds; becomes seconds. */
const duration = durationSeconds();

const cel = z.string().superRefine((expr, ctx) => {
  const err = celSyntaxError(expr);
  if (err) ctx.addIssue({ code: 'custom', message: `invalid CEL at column ${err.column}: ${err.message}` });
});

/** Exactly one provider, named by its key (one of the registry's: providers/schemas.ts). */
const providerSchema = z
  .record(z.string(), z.unknown())
  .transform((value, ctx) => {
    const kinds = Object.keys(value);
    const known = Object.keys(providerSchemas);
    if (kinds.length !== 1 || !kinds[0]) {
      ctx.addIssue({ code: 'custom', message: `must name exactly one provider: ${known.join(', ')}` });
      return z.NEVER;
    }
    const kind = kinds[0];
    const schema = providerSchemas[kind as keyof typeof providerSchemas];
    if (!schema) {
      ctx.addIssue({
        code: 'custom',
        path: [kind],
        message: `unknown provider "${kind}": use one of ${known.join(', ')}`,
      });
      return z.NEVER;
    }
    const parsed = schema.safeParse(value[kind]);
    if (!parsed.success) {
      for (const issue of parsed.error.issues) {
        ctx.addIssue({
          code: 'custom',
          path: [kind, ...issue.path.map((p: PropertyKey) => (typeof p === 'symbol' ? String(p) : p))],
          message: issue.message,
        });
      }
      return z.NEVER;
    }
    return { kind, config: parsed.data as unknown };
  })
  .describe(`Where the measurements come from: exactly one of ${Object.keys(providerSchemas).join(', ')}.`);

export const metricSchema = z.strictObject({
  name,
  interval: duration.optional().describe('Time between measurements, e.g. 30s (default 0: back to back).'),
  count: z.int().min(1, 'must be >= 1').default(1).describe('How many measurements to take.'),
  initialDelay: duration.optional().describe('Wait before the first measurement.'),
  successCondition: cel.optional().describe('CEL over `result`: true means the measurement passed.'),
  failureCondition: cel.optional().describe('CEL over `result`: true means the measurement failed.'),
  failureLimit: z.int().min(0).default(0).describe('Failed measurements tolerated before the metric fails.'),
  inconclusiveLimit: z.int().min(0).default(0).describe('Inconclusive measurements tolerated.'),
  consecutiveErrorLimit: z
    .int()
    .min(0)
    .default(4)
    .describe('Errors in a row tolerated (source unreachable).'),
  dryRun: z.boolean().default(false).describe('Measure and record, but never decide the release.'),
  noDataPhase: z
    .enum(['Inconclusive', 'Failed', 'Successful'])
    .default('Inconclusive')
    .describe('How a measurement with no data (empty result, NaN) counts.'),
  provider: providerSchema,
});

const argSchema = z.strictObject({
  name,
  value: z.string().optional().describe('Default value; a reference may set it.'),
});

export const analysisTemplateSchema = z.strictObject({
  name,
  args: z.array(argSchema).optional(),
  metrics: z.array(metricSchema).min(1, 'must have at least one metric'),
});

export const analysisRefSchema = z
  .strictObject({
    templates: z
      .array(z.strictObject({ templateName: name.describe('Name of the template.') }))
      .min(1, 'must name at least one template')
      .describe(
        'Templates to run, each by its name: inline in spec.analysis.templates, or an AnalysisTemplate applied apart.',
      ),
    args: z
      .array(
        z.strictObject({
          name: name.describe('Name of the argument.'),
          value: z.string().describe('Its value.'),
        }),
      )
      .optional()
      .describe("Values for the templates' args; a value here wins over the template's default."),
  })
  .describe('Templates to run, with values for their args ({{args.NAME}} in the templates).');

export const analysisSchema = z
  .strictObject({ templates: z.array(analysisTemplateSchema).default([]) })
  .describe('Analysis templates of this target (named templates applied apart may be referenced too).');

export type AnalysisTemplate = z.output<typeof analysisTemplateSchema>;
export type AnalysisRef = z.output<typeof analysisRefSchema>;
export type Metric = z.output<typeof metricSchema>;
