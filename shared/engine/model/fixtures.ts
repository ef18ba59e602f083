// The fixtures of the engine's unit tests, built one way: the image repository and images by digest,
// the pod template of the plain Deployment, targets (blue-green, canary, or any strategy with spec
// fields changed), a release created by a push, the push and control messages the tests decide on.
// The model (scenario.ts) builds its target and images from these too. Test-only, like the rest of
// this folder.
import type { ControlMessage } from '../../messages.ts';
import { decidePush, parsePush } from '../intake.ts';
import { createRelease, emptyWorkload, type PodTemplate, type Release, type Workload } from '../release.ts';
import type { CanaryStrategy, EngineTarget } from '../target.ts';

export const repo = 'us-docker.pkg.dev/acme/apps/api';
/** An image of `repo` by digest: digest('2') is sha256:222…2. */
export const digest = (c: string) => `${repo}@sha256:${c.repeat(64)}`;

/** The pod template of the user's plain Deployment `api`, running `image`. */
export const podTemplate = (image: string): PodTemplate => ({
  metadata: { labels: { 'app.kubernetes.io/name': 'api' } },
  spec: { containers: [{ name: 'api', image }] },
});

type Spec = EngineTarget['spec'];

/** Target `api` (namespace shop, workload api, repository `repo`) with `strategy`; `spec` overrides fields. */
export function engineTarget(
  strategy: Spec['strategy'],
  spec: Partial<Omit<Spec, 'strategy'>> = {},
): EngineTarget {
  return {
    name: 'api',
    generation: 1,
    spec: {
      image: { repository: repo, untagged: 'ignore' },
      cluster: { context: 'local' },
      namespace: 'shop',
      workload: 'api',
      progressDeadlineSeconds: 60,
      revisionHistoryLimit: 3,
      ...spec,
      strategy,
    },
  };
}

/** Blue-green on Service `api`, promoting itself, 30 s delays; `blueGreen` and `spec` override. */
export function blueGreenTarget(
  blueGreen: Partial<NonNullable<Spec['strategy']['blueGreen']>> = {},
  spec: Partial<Omit<Spec, 'strategy'>> = {},
): EngineTarget {
  return engineTarget(
    {
      blueGreen: {
        activeService: 'api',
        autoPromotionEnabled: true,
        scaleDownDelaySeconds: 30,
        abortScaleDownDelaySeconds: 30,
        ...blueGreen,
      },
    },
    spec,
  );
}

/** A canary between Services `api` and `api-canary` without a router, 30 s delays. */
export function canaryTarget(steps: CanaryStrategy['steps']): EngineTarget {
  return engineTarget({
    canary: {
      stableService: 'api',
      canaryService: 'api-canary',
      steps,
      scaleDownDelaySeconds: 30,
      abortScaleDownDelaySeconds: 30,
    } as CanaryStrategy,
  });
}

/** A release of `image` for target `api` as a push creates it, before any step. */
export function pushedRelease(image: string, now = 0): Release {
  return createRelease(
    emptyWorkload('api'),
    { target: 'api', targetGeneration: 1, trigger: { kind: 'push', messageId: 'm' }, image },
    now,
  );
}

/** The push of `image` (tagged v<last digit>) decided on: the release it starts; throws if ignored. */
export function pushImage(
  t: EngineTarget,
  image: string,
  workload: Workload,
  now: number,
  live: Release[] = [],
) {
  const parsed = parsePush({ action: 'INSERT', digest: image, tag: `${repo}:v${image.slice(-1)}` });
  if (typeof parsed === 'string') throw new Error(parsed);
  const out = decidePush(t, parsed, `m-${image.slice(-1)}`, workload, live, now);
  if (out.kind !== 'released') throw new Error(out.reason);
  return out;
}

/** A control message for target `api` from ana. */
export const controlMessage = (command: ControlMessage['command'], requestId: string): ControlMessage => ({
  command,
  target: 'api',
  full: false,
  requestedBy: 'ana',
  requestId,
});
