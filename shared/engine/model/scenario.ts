// The scenario a model history runs in (one target, one workload), the target it makes, the images
// pushed (v1 … v5 by digest) and the model's timing: the target's delays and the runtime's
// lease, inline-wait and sweep settings at their defaults.
import type { PodTemplate } from '../release.ts';
import type { CanaryStrategy, EngineTarget } from '../target.ts';
import type { RouterKind } from './cluster-objects.ts';
import { digest, engineTarget, podTemplate } from './fixtures.ts';

export interface Scenario {
  strategy: 'blueGreen' | 'canary';
  /** Blue-green: with a preview Service. */
  preview: boolean;
  /** Blue-green: autoPromotionEnabled (auto), off (manual), or autoPromotionSeconds (timed). */
  promotion: 'auto' | 'manual' | 'timed';
  /** Canary: the traffic router. */
  router: RouterKind;
  replicas: number;
  /** plain: a plain Deployment to adopt; adopted: stable r0 only; history: stable v2, r0 kept for undo. */
  start: 'plain' | 'adopted' | 'history';
  /** EndpointSlices lag behind selectors and pods until a sync event. */
  lag: boolean;
  /** An HPA targets the serving Deployment. */
  hpa: boolean;
  /**
   * spec.drain instead of the scale-down delay. Analysis is not modelled, so its template never
   * resolves: the old revision is held for the drain's whole wait, then scaled down.
   */
  drain?: boolean;
}

/** Image v1 … v5 of `repo` by digest (v1 runs in the plain Deployment). */
export const image = (v: number) => digest(String(v));
export const tagOf = (img: string) => `v${img.slice(-1)}`;

export const timing = {
  progressDeadlineSeconds: 30,
  scaleDownDelaySeconds: 5,
  abortScaleDownDelaySeconds: 5,
  autoPromotionSeconds: 10,
  pauseSeconds: 10,
  drainMaxWaitSeconds: 8,
  /** Deps.leaseMs, inlineWaitMs, sweepLookaheadMs at their config.ts defaults; sweep.ts overdueMs. */
  leaseMs: 45_000,
  inlineWaitMs: 25_000,
  sweepLookaheadMs: 65_000,
  overdueMs: 3_000,
  sweepEveryMs: 60_000,
};

export function targetFor(s: Scenario): EngineTarget {
  const strategy: EngineTarget['spec']['strategy'] =
    s.strategy === 'blueGreen'
      ? {
          blueGreen: {
            activeService: 'api',
            ...(s.preview ? { previewService: 'api-preview' } : {}),
            autoPromotionEnabled: s.promotion !== 'manual',
            ...(s.promotion === 'timed' ? { autoPromotionSeconds: timing.autoPromotionSeconds } : {}),
            scaleDownDelaySeconds: timing.scaleDownDelaySeconds,
            abortScaleDownDelaySeconds: timing.abortScaleDownDelaySeconds,
          },
        }
      : { canary: canaryStrategy(s.router) };
  return engineTarget(strategy, {
    cluster: { context: 'model' },
    progressDeadlineSeconds: timing.progressDeadlineSeconds,
    // Small, so the sweep's revision GC has work in short runs.
    revisionHistoryLimit: 1,
    ...(s.drain
      ? {
          drain: { templates: [{ templateName: 'connections' }], maxWaitSeconds: timing.drainMaxWaitSeconds },
        }
      : {}),
  });
}

function canaryStrategy(router: RouterKind): CanaryStrategy {
  const steps: CanaryStrategy['steps'] = [
    { setWeight: 20 },
    { pause: {} },
    { setWeight: 50 },
    { pause: { duration: timing.pauseSeconds } },
  ];
  if (router === 'none') steps.push({ setWeight: 100 });
  return {
    stableService: 'api',
    canaryService: 'api-canary',
    steps,
    ...(router === 'gatewayAPI' ? { trafficRouting: { gatewayAPI: { httpRoute: 'api' } } } : {}),
    ...(router === 'nginx' ? { trafficRouting: { nginx: { stableIngress: 'api' } } } : {}),
    scaleDownDelaySeconds: timing.scaleDownDelaySeconds,
    abortScaleDownDelaySeconds: timing.abortScaleDownDelaySeconds,
  };
}

export const plainTemplate = (): PodTemplate => podTemplate(image(1));
