// What `switchyard get` shows, as data: the target, its release (phase, step, weights), the live
// revisions with their roles and replicas, and the analysis runs with each metric's last
// measurement. Pure: built from what the command read; `-o json|yaml` prints it as it is, and
// draw.ts turns it into the tree.
import type { AnalysisRun, Measurement, MetricRun } from '../../shared/analysis/run.ts';
import { isTerminal } from '../../shared/engine/phase.ts';
import type { Release, RevisionRef, Workload } from '../../shared/engine/release.ts';
import type { EngineTarget } from '../../shared/engine/target.ts';
import { labels, type WorkloadSnapshot } from '../../shared/kubernetes/types.ts';
import type { CanaryStep } from '../../shared/target/canary.ts';

/**
 * What a revision is to the target now, with Argo Rollouts' names; "green" is a new blue-green
 * revision no preview Service selects. Without a look at the cluster (watch), the release's own
 * words "blue" (serving when it started) and "green" (its new revision) are all that is known.
 */
export type Role = 'stable' | 'active' | 'preview' | 'canary' | 'green' | 'blue';
const roleOrder: Role[] = ['stable', 'active', 'blue', 'preview', 'canary', 'green'];

export interface ReleaseSummary {
  id: string;
  number: number;
  phase: Release['phase'];
  paused: boolean;
  reason: string | null;
  /** push, retry, restart or undo. */
  trigger: Release['trigger']['kind'];
  /** Who asked, for retry, restart and undo. */
  requestedBy: string | null;
  image: string;
  tag: string | null;
  createdAt: string;
  phaseSince: string;
  switchedAt: string | null;
  /** The revision serving when the release started, and the release's new one. */
  blue: RevisionRef | null;
  green: RevisionRef | null;
}

export interface CanaryView {
  /** Steps done (Argo's currentStepIndex): the step running now is steps[stepIndex]. */
  stepIndex: number;
  steps: number;
  /** The step running now, in words; null once every step is done. */
  current: string | null;
  /** Weight the last setWeight step asked for. */
  setWeight: number;
  /** Weight the router reports in force; null until it has been read. */
  actualWeight: number | null;
  /** Whether the data plane took the weight (e.g. HTTPRoute Accepted); null until read. */
  accepted: boolean | null;
  headerRoute: string | null;
  routerMessage: string | null;
}

export interface RevisionView {
  revision: string;
  deployment: string;
  /** Image reference of the first container: repository@sha256:… */
  image: string;
  digest: string | null;
  tag: string | null;
  /** The release that created the revision, when it is among the recent ones. */
  release: string | null;
  desired: number;
  ready: number;
  available: number;
  status: 'Healthy' | 'Progressing' | 'Degraded' | 'ScaledDown';
  roles: Role[];
}

export interface MeasurementView {
  /** 1 for the first measurement of the metric. */
  number: number;
  phase: Measurement['phase'];
  value?: unknown;
  message?: string;
  startedAt: string;
  finishedAt: string | null;
}

export interface MetricView {
  name: string;
  template: string;
  provider: string;
  dryRun: boolean;
  phase: MetricRun['phase'];
  successful: number;
  failed: number;
  inconclusive: number;
  errors: number;
  count: number;
  last: MeasurementView | null;
}

export interface AnalysisRunView {
  /** pre-promotion, post-promotion, background, or step-N (the N-th analysis step run). */
  name: string;
  kind: AnalysisRun['kind'];
  phase: AnalysisRun['phase'];
  message: string | null;
  startedAt: string;
  finishedAt: string | null;
  /** The revision measured (the release's new one). */
  revision: string | null;
  metrics: MetricView[];
}

export interface GetView {
  target: string;
  namespace: string | null;
  workload: string | null;
  cluster: string | null;
  strategy: 'BlueGreen' | 'Canary';
  release: ReleaseSummary | null;
  canary: CanaryView | null;
  /** Images with what serves them, stable/active first. */
  images: { image: string; tag: string | null; roles: Role[] }[];
  /** Live revisions, newest first; null when the cluster was not read. */
  revisions: RevisionView[] | null;
  /** The plain Deployment the target adopted, kept at zero replicas. */
  plainDeployment: { name: string; replicas: number } | null;
  analysis: AnalysisRunView[];
  /** Why the revisions are missing (cluster unreachable), or null. */
  clusterError: string | null;
}

export interface ViewInput {
  targetName: string;
  /** Null when the target was deleted after the release. */
  target: EngineTarget | null;
  workload: Workload | null;
  release: Release | null;
  /** The target's recent releases, newest first: where each revision and its tag come from. */
  releases: Release[];
  /** The live objects, or null when not read. */
  snapshot: WorkloadSnapshot | null;
  clusterError: string | null;
}

const iso = (ms: number) => new Date(ms).toISOString();

export function digestOf(image: string): string | null {
  const at = image.indexOf('@');
  return at < 0 ? null : image.slice(at + 1);
}

export function releaseSummary(r: Release): ReleaseSummary {
  return {
    id: r.id,
    number: r.number,
    phase: r.phase,
    paused: r.paused,
    reason: r.reason,
    trigger: r.trigger.kind,
    requestedBy: 'by' in r.trigger ? r.trigger.by : null,
    image: r.image,
    tag: r.tag ?? null,
    createdAt: iso(r.createdAt),
    phaseSince: iso(r.phaseSince),
    switchedAt: r.switchedAt === null ? null : iso(r.switchedAt),
    blue: r.stable,
    green: r.candidate,
  };
}

/** A canary step in words. */
export function describeStep(step: CanaryStep): string {
  if ('setWeight' in step) return `setWeight ${step.setWeight}`;
  if ('pause' in step)
    return step.pause.duration === undefined ? 'pause (until promote)' : `pause ${step.pause.duration}s`;
  if ('analysis' in step) return `analysis ${step.analysis.templates.map((t) => t.templateName).join(', ')}`;
  if ('setCanaryScale' in step) {
    const s = step.setCanaryScale;
    if ('replicas' in s) return `setCanaryScale ${s.replicas} replicas`;
    if ('weight' in s) return `setCanaryScale ${s.weight}%`;
    return 'setCanaryScale matchTrafficWeight';
  }
  return `setHeaderRoute ${step.setHeaderRoute.name}`;
}

export function canaryView(release: Release, target: EngineTarget | null): CanaryView | null {
  const c = release.canary;
  if (!c) return null;
  const steps = target?.spec.strategy.canary?.steps ?? [];
  const current = steps[c.step];
  return {
    stepIndex: c.step,
    steps: steps.length,
    current: current ? describeStep(current) : null,
    setWeight: c.weight,
    actualWeight: c.inForce?.weight ?? null,
    accepted: c.inForce?.accepted ?? null,
    headerRoute: c.inForce?.headerRoute?.name ?? c.headerRoute?.name ?? null,
    routerMessage: c.inForce?.message ?? null,
  };
}

function measurementView(m: Measurement): MeasurementView {
  return {
    number: m.index + 1,
    phase: m.phase,
    ...(m.value === undefined ? {} : { value: m.value }),
    ...(m.message ? { message: m.message } : {}),
    startedAt: iso(m.startedAt),
    finishedAt: m.finishedAt === undefined ? null : iso(m.finishedAt),
  };
}

function metricView(m: MetricRun): MetricView {
  const last = m.measurements.at(-1);
  return {
    name: m.spec.name,
    template: m.spec.template,
    provider: m.spec.provider.kind,
    dryRun: m.spec.dryRun,
    phase: m.phase,
    successful: m.successful,
    failed: m.failed,
    inconclusive: m.inconclusive,
    errors: m.errors,
    count: m.spec.count,
    last: last ? measurementView(last) : null,
  };
}

/** The analysis runs of a release, in the order they ran. */
export function analysisViews(r: Release): AnalysisRunView[] {
  const named: [string, AnalysisRun | null | undefined][] = [
    ['pre-promotion', r.analysis?.pre],
    ['background', r.canary?.background],
    ...(r.canary?.stepRuns ?? []).map((run, i): [string, AnalysisRun] => [`step-${i + 1}`, run]),
    ['post-promotion', r.analysis?.post],
    ['drain', r.analysis?.drain],
  ];
  return named
    .filter((n): n is [string, AnalysisRun] => !!n[1])
    .map(([name, run]) => ({
      name,
      kind: run.kind,
      phase: run.phase,
      message: run.message,
      startedAt: iso(run.startedAt),
      finishedAt: run.finishedAt === null ? null : iso(run.finishedAt),
      // A drain measures the old revision; every other run the new one.
      revision: (run.kind === 'drain' ? r.stable : r.candidate)?.revision ?? null,
      metrics: run.metrics.map(metricView),
    }));
}

interface Origin {
  release: string;
  tag: string | null;
  /** Newer first: the release's number, its new revision before the one it adopted. */
  rank: number;
}

/** Which release made each revision, and with which tag (the newest release wins). */
function origins(releases: Release[]): Map<string, Origin> {
  const found = new Map<string, Origin>();
  for (const r of releases) {
    if (r.candidate && !found.has(r.candidate.revision))
      found.set(r.candidate.revision, { release: r.id, tag: r.tag ?? null, rank: r.number * 2 + 1 });
    if (r.adoption && !found.has(r.adoption.revision.revision))
      found.set(r.adoption.revision.revision, { release: r.id, tag: null, rank: r.number * 2 });
  }
  return found;
}

function rolesOf(revision: string, input: ViewInput): Role[] {
  const { target, workload, release, snapshot } = input;
  const roles = new Set<Role>();
  const selects = (service: string | undefined) =>
    !!service && snapshot?.services[service]?.selector[labels.revision] === revision;
  const inFlightGreen = !!release && !isTerminal(release.phase) && release.candidate?.revision === revision;
  if (workload?.stable?.revision === revision) roles.add('stable');
  const canary = target?.spec.strategy.canary;
  const blueGreen = target?.spec.strategy.blueGreen;
  if (canary) {
    if (inFlightGreen) roles.add('canary');
  } else if (blueGreen) {
    if (selects(blueGreen.activeService)) roles.add('active');
    if (selects(blueGreen.previewService)) roles.add('preview');
    else if (inFlightGreen) roles.add('green');
  }
  return roleOrder.filter((r) => roles.has(r));
}

function revisionStatus(r: { desired: number; ready: number; progressDeadlineExceeded: boolean }) {
  if (r.desired === 0) return 'ScaledDown' as const;
  if (r.progressDeadlineExceeded) return 'Degraded' as const;
  return r.ready >= r.desired ? ('Healthy' as const) : ('Progressing' as const);
}

function revisionViews(input: ViewInput): RevisionView[] | null {
  if (!input.snapshot) return null;
  const from = origins(input.releases);
  const rank = (revision: string) => from.get(revision)?.rank ?? 0;
  return Object.entries(input.snapshot.revisions)
    .map(([revision, r]): RevisionView => {
      const image = Object.values(r.images)[0] ?? '';
      const origin = from.get(revision);
      return {
        revision,
        deployment: r.name,
        image,
        digest: digestOf(image),
        tag: origin?.tag ?? null,
        release: origin?.release ?? null,
        desired: r.desired,
        ready: r.ready,
        available: r.available,
        status: revisionStatus(r),
        roles: rolesOf(revision, input),
      };
    })
    .sort((a, b) => rank(b.revision) - rank(a.revision) || a.deployment.localeCompare(b.deployment));
}

/** Images in use: from the live revisions with a role, else the release's blue and green. */
function imagesOf(revisions: RevisionView[] | null, input: ViewInput): GetView['images'] {
  if (revisions) {
    return revisions
      .filter((r) => r.roles.length > 0)
      .sort((a, b) => roleOrder.indexOf(a.roles[0]!) - roleOrder.indexOf(b.roles[0]!))
      .map((r) => ({ image: r.image, tag: r.tag, roles: [...r.roles] }));
  }
  const { release } = input;
  if (!release) return [];
  const from = origins(input.releases);
  const images: GetView['images'] = [];
  if (release.stable)
    images.push({
      image: release.stable.image,
      tag: from.get(release.stable.revision)?.tag ?? null,
      roles: ['blue'],
    });
  if (release.candidate)
    images.push({ image: release.candidate.image, tag: release.tag ?? null, roles: ['green'] });
  return images;
}

export function buildView(input: ViewInput): GetView {
  const { target, release } = input;
  const canary = target ? !!target.spec.strategy.canary : !!release?.canary;
  const cluster = target
    ? 'gke' in target.spec.cluster
      ? target.spec.cluster.gke
      : `context:${target.spec.cluster.context}`
    : null;
  const revisions = revisionViews(input);
  const plain = input.snapshot?.plainDeployment;
  return {
    target: input.targetName,
    namespace: target?.spec.namespace ?? null,
    workload: target?.spec.workload ?? null,
    cluster,
    strategy: canary ? 'Canary' : 'BlueGreen',
    release: release ? releaseSummary(release) : null,
    canary: release ? canaryView(release, target) : null,
    images: imagesOf(revisions, input),
    revisions,
    plainDeployment: plain ? { name: plain.name, replicas: plain.replicas } : null,
    analysis: release ? analysisViews(release) : [],
    clusterError: input.clusterError,
  };
}
