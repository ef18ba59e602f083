// Configuration of the `cloud-monitoring` metric provider: Cloud Monitoring time series of one
// metric type over a window ending now, optionally aligned and reduced by the API (FACTS §8).
import { z } from 'zod';

export const cloudMonitoringConfigSchema = z.strictObject({
  /** The project whose time series are read (`projects/{project}`). */
  project: z.string().min(1),
  /** A Cloud Monitoring filter selecting a single metric type, e.g. `metric.type="…" AND resource.type="…"`. */
  filter: z.string().min(1),
  /** The interval read: from `windowSeconds` before now up to now. */
  windowSeconds: z.int().min(1),
  /** Passed to the API as `aggregation.*`; without it the raw points are read. */
  aggregation: z
    .strictObject({
      alignmentPeriodSeconds: z.int().min(1),
      perSeriesAligner: z.string().regex(/^ALIGN_[A-Z0-9_]+$/, 'an aligner such as ALIGN_RATE'),
      crossSeriesReducer: z
        .string()
        .regex(/^REDUCE_[A-Z0-9_]+$/, 'a reducer such as REDUCE_SUM')
        .optional(),
      groupByFields: z.array(z.string().min(1)).optional(),
    })
    .optional(),
  /**
   * How the points become the value: `last` (default) the newest point of each series, one number per
   * series; `sum`, `mean`, `max`, `min` one number over every point of every series.
   */
  pick: z.enum(['sum', 'mean', 'max', 'min', 'last']).default('last'),
  /** Bound on the whole measurement, all pages together. */
  timeoutSeconds: z.int().min(1).default(10),
});

/** A parsed cloud-monitoring provider configuration (defaults applied). */
export type CloudMonitoringConfig = z.infer<typeof cloudMonitoringConfigSchema>;
