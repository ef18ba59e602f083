// The contract every metric provider implements (prometheus, cloud-monitoring, web, job), and what
// it gives back. A provider takes one measurement; whether it passed is decided later, purely, by the
// assessment (CEL conditions over the value), except for providers whose verdict is the measurement
// itself (a Job succeeds or fails).
import type { KubeConfig } from '@kubernetes/client-node';

/** What a provider returns for one measurement. A provider never throws: faults are `error`. */
export type ProviderResult =
  /** A value for the conditions (`result` in CEL); `noData` for an empty vector, NaN, no points. */
  | { kind: 'value'; value: unknown; noData: boolean; message?: string }
  /** The provider decided itself (e.g. a Job completed or failed). */
  | { kind: 'verdict'; phase: 'Successful' | 'Failed'; message?: string }
  /** Still going (e.g. a Job running): call `resume` later with this state. */
  | { kind: 'running'; state: Record<string, string>; message?: string }
  /** The source could not be asked or did not answer sensibly (counts toward consecutiveErrorLimit). */
  | { kind: 'error'; message: string };

/** Everything a provider may need besides its own configuration. */
export interface MeasureContext {
  /** The target's namespace (Jobs run there; Services are found there). */
  namespace: string;
  releaseId: string;
  /** The metric's name in its template. */
  metric: string;
  /** 0-based index of this measurement of the metric within its analysis run. */
  index: number;
  /** Which analysis of the release: pre/post promotion, background, or a canary step's (part of deterministic names). */
  run: string;
  /** The target cluster (for web through the API server proxy, and Jobs). */
  kubeConfig: KubeConfig;
  /** Google access token for Google endpoints (Managed Prometheus, Cloud Monitoring). */
  googleToken(): Promise<string>;
  now(): number;
}

export interface MetricProvider<C> {
  /**
   * Takes one measurement. Idempotent for providers that create things: a second call with the
   * same context finds what the first created (deterministic names) instead of creating it again.
   */
  measure(config: C, ctx: MeasureContext): Promise<ProviderResult>;
  /** Looks again at a measurement that was `running`; absent when a provider never runs long. */
  resume?(config: C, ctx: MeasureContext, state: Record<string, string>): Promise<ProviderResult>;
  /** Removes what `measure` created (e.g. the Job); idempotent, "not found" is success. */
  cleanup?(config: C, ctx: MeasureContext, state: Record<string, string>): Promise<void>;
}
