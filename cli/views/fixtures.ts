// Small builders of the documents `get`, `history` and `watch` draw, for the unit tests beside them.
import type { AnalysisRun, MetricRun } from '../../shared/analysis/run.ts';
import {
  checkedRelease,
  createRelease,
  emptyWorkload,
  type Release,
  type ReleaseDraft,
  type Workload,
} from '../../shared/engine/release.ts';
import type { EngineTarget } from '../../shared/engine/target.ts';
import type { WorkloadSnapshot } from '../../shared/kubernetes/types.ts';
import type { CanaryStep } from '../../shared/target/canary.ts';

export const repo = 'us-docker.pkg.dev/acme/apps/api';
export const image = (c: string) => `${repo}@sha256:${c.repeat(64)}`;
/** Fixed times: the release starts at t0, `now` is five minutes later. */
export const t0 = Date.UTC(2025, 2, 1, 12, 0, 0);
export const now = t0 + 5 * 60_000;

export function blueGreenTarget(): EngineTarget {
  return {
    name: 'api',
    generation: 1,
    spec: {
      image: { repository: repo, untagged: 'ignore' },
      cluster: { context: 'kwok' },
      namespace: 'shop',
      workload: 'api',
      progressDeadlineSeconds: 60,
      revisionHistoryLimit: 3,
      strategy: {
        blueGreen: {
          activeService: 'api',
          previewService: 'api-preview',
          autoPromotionEnabled: false,
          scaleDownDelaySeconds: 30,
          abortScaleDownDelaySeconds: 30,
        },
      },
    },
  };
}

export function canaryTarget(steps: CanaryStep[]): EngineTarget {
  const t = blueGreenTarget();
  return {
    ...t,
    spec: {
      ...t.spec,
      strategy: {
        canary: {
          stableService: 'api',
          canaryService: 'api-canary',
          steps,
          trafficRouting: { gatewayAPI: { httpRoute: 'api' } },
          scaleDownDelaySeconds: 30,
          abortScaleDownDelaySeconds: 30,
        },
      },
    },
  };
}

export const blue = { revision: 'aaaaaaaaaa', deployment: 'api-aaaaaaaaaa', image: image('1') };
export const green = { revision: 'bbbbbbbbbb', deployment: 'api-bbbbbbbbbb', image: image('2') };

/** Release api-2 (v2) of `target`, `patch`ed; api-1 (v1) made the blue revision. */
export function release(patch: Partial<ReleaseDraft> = {}): Release {
  const base = createRelease(
    { ...emptyWorkload('api'), releases: 1 },
    {
      target: 'api',
      targetGeneration: 1,
      trigger: { kind: 'push', messageId: 'm2', tag: 'v2' },
      image: image('2'),
      tag: 'v2',
    },
    t0,
  );
  return checkedRelease({ ...base, stable: blue, candidate: green, replicas: 3, ...patch });
}

export function firstRelease(): Release {
  const base = createRelease(
    emptyWorkload('api'),
    {
      target: 'api',
      targetGeneration: 1,
      trigger: { kind: 'push', messageId: 'm1', tag: 'v1' },
      image: image('1'),
      tag: 'v1',
    },
    t0 - 3_600_000,
  );
  return { ...base, phase: 'Succeeded', candidate: blue };
}

export function workload(patch: Partial<Workload> = {}): Workload {
  return {
    ...emptyWorkload('api'),
    stable: blue,
    inFlight: 'api-2',
    lastRelease: 'api-2',
    releases: 2,
    ...patch,
  };
}

export function snapshot(
  revisions: { ref: typeof blue; desired: number; ready: number }[],
  selectors: Record<string, string | null>,
): WorkloadSnapshot {
  const snap: WorkloadSnapshot = { plainDeployment: null, revisions: {}, services: {} };
  for (const r of revisions) {
    snap.revisions[r.ref.revision] = {
      revision: r.ref.revision,
      name: r.ref.deployment,
      exists: true,
      desired: r.desired,
      ready: r.ready,
      available: r.ready,
      progressDeadlineExceeded: false,
      images: { api: r.ref.image },
      template: {},
    };
  }
  for (const [service, revision] of Object.entries(selectors)) {
    snap.services[service] = {
      selector: {
        'app.kubernetes.io/name': 'api',
        ...(revision ? { 'switchyard.dev/revision': revision } : {}),
      },
    };
  }
  return snap;
}

export function metric(name: string, patch: Partial<MetricRun> = {}): MetricRun {
  return {
    spec: {
      name,
      template: 'error-rate',
      intervalSeconds: 10,
      count: 3,
      initialDelaySeconds: 0,
      successCondition: 'result[0] < 0.05',
      failureLimit: 0,
      inconclusiveLimit: 0,
      consecutiveErrorLimit: 4,
      dryRun: false,
      noDataPhase: 'Inconclusive',
      provider: { kind: 'prometheus', config: {} },
    },
    phase: 'Successful',
    measurements: [
      { index: 0, phase: 'Successful', value: [0.01], startedAt: t0 + 10_000, finishedAt: t0 + 10_000 },
      { index: 1, phase: 'Successful', value: [0.02], startedAt: t0 + 20_000, finishedAt: t0 + 20_000 },
    ],
    successful: 2,
    failed: 0,
    inconclusive: 0,
    errors: 0,
    consecutiveErrors: 0,
    nextAt: null,
    ...patch,
  };
}

export function run(
  kind: AnalysisRun['kind'],
  metrics: MetricRun[],
  patch: Partial<AnalysisRun> = {},
): AnalysisRun {
  return {
    kind,
    phase: 'Successful',
    startedAt: t0 + 5_000,
    finishedAt: t0 + 30_000,
    metrics,
    message: null,
    ...patch,
  };
}
