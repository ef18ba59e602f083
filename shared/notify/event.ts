// Release events (SPEC §9): every entry of a release's history becomes one CloudEvent on the events
// topic. The event id is the release id and the entry's index, so a consumer recognises an event
// published twice (after a crash, or by the sweep's catch-up) and can order a release's events.
import { CloudEvent } from 'cloudevents';
import { z } from 'zod';
import type { AnalysisRun } from '../analysis/run.ts';
import { failurePhases, isTerminal, type Phase, phases } from '../engine/phase.ts';
import type { Release, Transition } from '../engine/release.ts';
import { trainVersion } from '../engine/trains.ts';
import type { EventGroup } from './schema.ts';

export const releaseEventType = 'dev.switchyard.release.v1.transition';

export interface MetricSummary {
  name: string;
  phase: string;
  /** The last measurement's value, shortened for a message. */
  last: string | null;
  measurements: number;
  failed: number;
}

export interface AnalysisSummary {
  kind: AnalysisRun['kind'];
  phase: AnalysisRun['phase'];
  message: string | null;
  metrics: MetricSummary[];
}

export interface ReleaseEventData {
  releaseId: string;
  target: string;
  number: number;
  /** Image by digest, and the tag it was pushed with. */
  image: string;
  tag: string | null;
  /**
   * The version the release is of: what puts releases of several targets in one release train
   * (the tag, or its spec.image.versionGroup). Every member's events carry it, also as the Pub/Sub
   * attribute `version`: a subscription filtered on it is the train's one stream of events.
   */
  version: string | null;
  /** Index of the entry in the release's history. */
  index: number;
  at: string;
  from: Phase | null;
  to: Phase;
  cause: string;
  by: string | null;
  reason: string | null;
  /** The analysis runs of the release as they stood when the event was published. */
  analysis: AnalysisSummary[];
  /** Where to read more: Cloud Logging for the release (on GCP). */
  links: { logs: string | null };
}

export const releaseEventDataSchema = z.object({
  releaseId: z.string().min(1),
  target: z.string().min(1),
  number: z.number(),
  image: z.string(),
  tag: z.string().nullable(),
  version: z.string().nullable(),
  index: z.number().int().min(0),
  at: z.string(),
  from: z.enum(phases).nullable(),
  to: z.enum(phases),
  cause: z.string(),
  by: z.string().nullable(),
  reason: z.string().nullable(),
  analysis: z.array(
    z.object({
      kind: z.enum(['pre', 'post', 'background', 'step', 'drain']),
      phase: z.enum(['Running', 'Successful', 'Failed', 'Inconclusive']),
      message: z.string().nullable(),
      metrics: z.array(
        z.object({
          name: z.string(),
          phase: z.string(),
          last: z.string().nullable(),
          measurements: z.number(),
          failed: z.number(),
        }),
      ),
    }),
  ),
  links: z.object({ logs: z.string().nullable() }),
});

/** A release event as it travels on the events topic: a CloudEvent in structured JSON form. */
export const releaseEventSchema = z.object({
  specversion: z.literal('1.0'),
  id: z.string().min(1),
  source: z.string().min(1),
  type: z.literal(releaseEventType),
  subject: z.string().optional(),
  time: z.string().optional(),
  datacontenttype: z.string().optional(),
  data: releaseEventDataSchema,
});
export type ReleaseEvent = z.output<typeof releaseEventSchema>;

const shorten = (value: unknown): string | null => {
  if (value === undefined) return null;
  const text = typeof value === 'string' ? value : JSON.stringify(value);
  return text.length > 80 ? `${text.slice(0, 77)}...` : text;
};

function summarise(run: AnalysisRun): AnalysisSummary {
  return {
    kind: run.kind,
    phase: run.phase,
    message: run.message,
    metrics: run.metrics.map((m) => {
      const last = m.measurements.at(-1);
      return {
        name: m.spec.name,
        phase: m.phase,
        last: last ? shorten(last.value ?? last.message) : null,
        measurements: m.measurements.length,
        failed: m.failed,
      };
    }),
  };
}

/**
 * The release's analysis runs: pre/post promotion, the canary's background and last step run, the
 * old revision's drain.
 */
export function analysisOf(release: Release): AnalysisSummary[] {
  const runs = [
    release.analysis.pre,
    release.canary?.background ?? null,
    release.canary?.stepRuns.at(-1) ?? null,
    release.analysis.post,
    release.analysis.drain ?? null,
  ];
  return runs.filter((r): r is AnalysisRun => r !== null).map(summarise);
}

/** A link to the release's log lines in Cloud Logging (none for the local stack). */
export function logsLink(projectId: string, releaseId: string, local: boolean): string | null {
  if (local) return null;
  const query = encodeURIComponent(`jsonPayload.releaseId="${releaseId}"`);
  return `https://console.cloud.google.com/logs/query;query=${query}?project=${encodeURIComponent(projectId)}`;
}

export interface EventContext {
  projectId: string;
  /** True on the local stack (no console links). */
  local: boolean;
}

/** The CloudEvent of history entry `index` of `release`. */
export function releaseEvent(release: Release, index: number, ctx: EventContext): ReleaseEvent {
  const entry: Transition = release.history[index]!;
  const data: ReleaseEventData = {
    releaseId: release.id,
    target: release.target,
    number: release.number,
    image: release.image,
    tag: release.tag ?? null,
    version: trainVersion(release) ?? null,
    index,
    at: new Date(entry.at).toISOString(),
    from: entry.from,
    to: entry.to,
    cause: entry.cause,
    by: entry.by ?? null,
    reason: entry.reason ?? null,
    analysis: analysisOf(release),
    links: { logs: logsLink(ctx.projectId, release.id, ctx.local) },
  };
  // The library checks the event against the CloudEvents 1.0 spec (id, source, type, time format).
  const event = new CloudEvent<ReleaseEventData>({
    specversion: '1.0',
    id: `${release.id}:${index}`,
    source: `//switchyard.dev/projects/${ctx.projectId}/targets/${release.target}`,
    type: releaseEventType,
    subject: `releases/${release.id}`,
    time: data.at,
    datacontenttype: 'application/json',
    data,
  });
  return releaseEventSchema.parse(event.toJSON());
}

const groupMatches: Record<EventGroup, (d: ReleaseEventData) => boolean> = {
  all: () => true,
  transitions: (d) => d.from !== d.to,
  started: (d) => d.from === null,
  waiting: (d) => d.to === 'AwaitingPromotion' && d.from !== d.to,
  switched: (d) => d.to === 'Switching' && d.from !== d.to,
  failures: (d) => failurePhases.has(d.to) && d.from !== d.to,
  finished: (d) => isTerminal(d.to) && d.from !== d.to,
};

/** Whether a notifier with filter `on` wants the event: a group that matches, or the phase entered. */
export function wanted(on: readonly string[], data: ReleaseEventData): boolean {
  return on.some((f) =>
    f in groupMatches ? groupMatches[f as EventGroup](data) : f === data.to && data.from !== data.to,
  );
}
