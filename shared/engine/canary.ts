// The canary state machine (Argo Rollouts' canary semantics): after the canary revision is up, the
// steps run in order — setWeight, pause, analysis, setCanaryScale, setHeaderRoute — with a
// background analysis beside them; then promotion moves the stable Service to the new revision and
// returns every route to 100/0. Abort or failed analysis: weight 0 at once, canary objects removed,
// stable untouched. Pure, like decide.ts, whose shared parts (adoption, creating the canary revision,
// the scale-down) it reuses.
import { resolveAnalysis } from '../analysis/resolve.ts';
import { type AnalysisRun, advanceRun, nextDue, startRun } from '../analysis/run.ts';
import type { AnalysisRef } from '../analysis/schema.ts';
import type { HeaderRoute, RouteState } from '../routers/router.ts';
import type { CanaryStep } from '../target/canary.ts';
import type { Command } from './commands.ts';
import { advance, type Decision, endFor, factsOf, keeper, type Observation, poll } from './decide.ts';
import type { CanaryState, Release, Workload } from './release.ts';
import type { CanaryStrategy, EngineTarget } from './target.ts';

/** Replicas the canary needs to carry `weight` % of `total` (maxSurge-like: stable keeps its size). */
export function canaryReplicasFor(total: number, weight: number): number {
  return Math.max(1, Math.ceil((total * weight) / 100));
}

function headerRouteOf(
  step: Extract<CanaryStep, { setHeaderRoute: unknown }>['setHeaderRoute'],
): HeaderRoute {
  const match = step.match?.[0];
  return {
    name: step.name,
    ...(match ? { header: { name: match.headerName, value: match.headerValue.exact } } : {}),
    ...(step.cookie ? { cookie: step.cookie } : {}),
  };
}

const sameRoute = (a: HeaderRoute | null | undefined, b: HeaderRoute | null | undefined) =>
  JSON.stringify(a ?? null) === JSON.stringify(b ?? null);

export function initialCanaryState(now: number): CanaryState {
  return {
    step: 0,
    stepSince: now,
    weight: 0,
    headerRoute: null,
    scale: null,
    inForce: null,
    background: null,
    stepRuns: [],
  };
}

/** The steps of a canary release from the moment its revision exists until it ends. */
export function decideCanary(
  target: EngineTarget,
  canary: CanaryStrategy,
  release: Release,
  workload: Workload,
  obs: Observation,
  now: number,
): Decision {
  const keep = keeper(workload);
  const snap = obs.snapshot;
  const green = release.green!;
  const blue = release.blue!;
  const state = release.canary ?? initialCanaryState(now);
  const routerNone = !canary.trafficRouting;
  const total = release.replicas;
  const canaryStatus = snap.revisions[green.revision];
  const route: RouteState | null = obs.route ?? null;
  const withState = (s: Partial<CanaryState>): Partial<Release> => ({
    canary: { ...state, ...s, inForce: route ?? state.inForce },
  });
  const wait = (reason: string, wakeIn = poll(release, now), s: Partial<CanaryState> = {}) =>
    keep(advance(release, now, { reason, wakeIn, patch: withState(s) }));
  const act = (commands: Command[], reason: string, s: Partial<CanaryState> = {}) =>
    keep(
      advance(release, now, { reason, wakeIn: poll(release, now), patch: withState(s) }, commands),
      workload,
      commands,
    );
  const rollBack = (reason: string, s: Partial<CanaryState> = {}) =>
    keep(
      advance(release, now, {
        phase: 'RollingBack',
        reason,
        wakeIn: 0,
        patch: { ...withState(s), rollbackOutcome: 'RolledBack' },
      }),
    );
  const stepDeadline = state.stepSince + target.spec.progressDeadlineSeconds * 1000;

  switch (release.phase) {
    case 'DeployingGreen': {
      const wanted = canaryStatus?.desired ?? 0;
      if (
        canaryStatus?.progressDeadlineExceeded ||
        now >= release.phaseSince + target.spec.progressDeadlineSeconds * 1000
      ) {
        return rollBack(
          `canary revision ${green.deployment} did not become ready within ${target.spec.progressDeadlineSeconds} s`,
        );
      }
      if (!canaryStatus?.exists || canaryStatus.ready < wanted) {
        return wait(`waiting for ${green.deployment}: ${canaryStatus?.ready ?? 0}/${wanted} ready`);
      }
      const commands: Command[] = [{ type: 'PrepareRouter' }];
      const next = initialCanaryState(now);
      return keep(
        advance(
          release,
          now,
          { phase: 'Progressing', reason: null, wakeIn: poll(release, now), patch: { canary: next } },
          commands,
        ),
        workload,
        commands,
      );
    }

    case 'Progressing': {
      // Background analysis runs beside the steps; it is started with the first step.
      let background = state.background;
      if (canary.analysis) {
        const outcome = stepAnalysis(target, release, 'background', canary.analysis, background, obs, now);
        if ('error' in outcome) return rollBack(`background analysis: ${outcome.error}`);
        const before = background?.phase;
        background = outcome.run;
        if (background.phase === 'Failed')
          return rollBack(`background analysis failed: ${background.message}`, { background });
        if (background.phase === 'Inconclusive' && before === 'Running') {
          return keep(
            advance(release, now, {
              phase: 'AwaitingPromotion',
              reason: `background analysis inconclusive: ${background.message}; promote to go on or abort`,
              cause: 'analysis',
              patch: withState({ background }),
            }),
          );
        }
      }
      const s = { ...state, background };
      const step = canary.steps[s.step];
      const nextStep = (extra: Partial<CanaryState> = {}, reason: string | null = null) =>
        keep(
          advance(release, now, {
            reason,
            wakeIn: 0,
            patch: withState({ ...s, ...extra, step: s.step + 1, stepSince: now }),
          }),
        );
      const soonest = (ms: number) => {
        const due = background?.phase === 'Running' ? nextDue(background) : null;
        return due === null ? ms : Math.max(0, Math.min(ms, due - now));
      };

      if (!step) {
        return keep(
          advance(release, now, { phase: 'Switching', reason: null, wakeIn: 0, patch: withState(s) }),
        );
      }
      if (now >= stepDeadline && !('pause' in step) && !('analysis' in step)) {
        return rollBack(
          `canary step ${s.step + 1} did not complete within ${target.spec.progressDeadlineSeconds} s`,
          s,
        );
      }

      if ('setWeight' in step || 'setHeaderRoute' in step) {
        const weight = 'setWeight' in step ? step.setWeight : s.weight;
        const headerRoute = 'setHeaderRoute' in step ? headerRouteOf(step.setHeaderRoute) : s.headerRoute;
        if (!routerNone) {
          // The canary must be big enough to take its weight before it gets it.
          const replicas = s.scale ?? canaryReplicasFor(total, weight);
          if ((canaryStatus?.desired ?? 0) < replicas) {
            return act(
              [{ type: 'ScaleRevision', deployment: green.deployment, replicas }],
              `scaling ${green.deployment} to ${replicas}`,
              s,
            );
          }
          if ((canaryStatus?.ready ?? 0) < replicas) {
            return wait(
              `waiting for ${green.deployment}: ${canaryStatus?.ready ?? 0}/${replicas} ready`,
              soonest(poll(release, now)),
              s,
            );
          }
        }
        // The router is asked again until what it reports reflects the step (its writes are idempotent).
        const reflects =
          route !== null &&
          sameRoute(route.headerRoute, headerRoute) &&
          (routerNone || route.weight === weight);
        const asked = s.weight === weight && sameRoute(s.headerRoute, headerRoute);
        if (!asked || !reflects || !route) {
          return act([{ type: 'SetWeight', weight, headerRoute }], `setting weight ${weight}`, {
            ...s,
            weight,
            headerRoute,
          });
        }
        if (!route.accepted) {
          return wait(
            `waiting for the router to accept weight ${weight}${route.message ? `: ${route.message}` : ''}`,
            soonest(poll(release, now)),
            {
              ...s,
              weight,
              headerRoute,
            },
          );
        }
        const achieved = routerNone ? ` (achieved ${route.weight}% by replica ratio)` : '';
        return nextStep({ weight, headerRoute }, `weight ${weight} in force${achieved}`);
      }

      if ('pause' in step) {
        const duration = step.pause.duration;
        if (duration === undefined) {
          return keep(
            advance(release, now, {
              phase: 'AwaitingPromotion',
              reason: `paused at step ${s.step + 1}: promote to go on`,
              cause: 'step',
              wakeIn: backgroundWake(background, now),
              patch: withState(s),
            }),
          );
        }
        const due = s.stepSince + duration * 1000;
        if (now < due) return wait(`pausing ${duration} s at step ${s.step + 1}`, soonest(due - now), s);
        return nextStep();
      }

      if ('analysis' in step) {
        const current =
          s.stepRuns.length && s.stepRuns.at(-1)!.startedAt >= s.stepSince ? s.stepRuns.at(-1)! : null;
        const outcome = stepAnalysis(target, release, 'step', step.analysis, current, obs, now);
        if ('error' in outcome) return rollBack(`analysis at step ${s.step + 1}: ${outcome.error}`, s);
        const run = outcome.run;
        const stepRuns = current ? [...s.stepRuns.slice(0, -1), run] : [...s.stepRuns, run];
        if (run.phase === 'Running') {
          const due = nextDue(run) ?? now;
          return wait(`analysis at step ${s.step + 1} running`, soonest(Math.max(0, due - now)), {
            ...s,
            stepRuns,
          });
        }
        if (run.phase === 'Failed')
          return rollBack(`analysis at step ${s.step + 1} failed: ${run.message}`, { ...s, stepRuns });
        if (run.phase === 'Inconclusive') {
          return keep(
            advance(release, now, {
              phase: 'AwaitingPromotion',
              reason: `analysis at step ${s.step + 1} inconclusive: ${run.message}; promote to go on or abort`,
              cause: 'analysis',
              patch: withState({ ...s, stepRuns }),
            }),
          );
        }
        return nextStep({ stepRuns });
      }

      // setCanaryScale
      const scale = step.setCanaryScale;
      const replicas =
        'replicas' in scale
          ? scale.replicas
          : 'weight' in scale
            ? canaryReplicasFor(total, scale.weight)
            : canaryReplicasFor(total, s.weight);
      const fixed = 'matchTrafficWeight' in scale ? null : replicas;
      if ((canaryStatus?.desired ?? 0) !== replicas) {
        return act(
          [{ type: 'ScaleRevision', deployment: green.deployment, replicas }],
          `scaling ${green.deployment} to ${replicas}`,
          {
            ...s,
            scale: fixed,
          },
        );
      }
      if ((canaryStatus?.ready ?? 0) < replicas)
        return wait(`waiting for ${green.deployment}: ${canaryStatus?.ready ?? 0}/${replicas} ready`);
      return nextStep({ scale: fixed });
    }

    case 'AwaitingPromotion': {
      // Waits for promote or abort; the background analysis goes on meanwhile.
      const running = state.background;
      if (!canary.analysis || running?.phase !== 'Running') return keep(release);
      const background = advanceRun(running, obs.measurements?.background ?? {}, now);
      if (background.phase === 'Failed')
        return rollBack(`background analysis failed: ${background.message}`, { background });
      return keep(
        advance(release, now, { wakeIn: backgroundWake(background, now), patch: withState({ background }) }),
      );
    }

    case 'Switching': {
      // Promotion: green to full size, the stable Service to the new revision, every route to 100/0.
      if (!canaryStatus?.exists) return rollBack(`canary revision ${green.deployment} disappeared`);
      if (canaryStatus.desired < total) {
        return act(
          [{ type: 'ScaleRevision', deployment: green.deployment, replicas: total }],
          `scaling ${green.deployment} to ${total}`,
        );
      }
      if (canaryStatus.ready < total) {
        if (now >= release.phaseSince + target.spec.progressDeadlineSeconds * 1000) {
          return rollBack(`canary revision ${green.deployment} did not reach ${total} ready replicas`);
        }
        return wait(`waiting for ${green.deployment}: ${canaryStatus.ready}/${total} ready`);
      }
      const selector = snap.services[canary.stableService]?.selector ?? {};
      if (selector['switchyard.dev/revision'] !== green.revision || release.switchedAt === null) {
        const commands: Command[] = routerNone
          ? [{ type: 'FinalizeRouter', stableRevision: green.revision }]
          : [
              { type: 'SelectRevision', service: canary.stableService, revision: green.revision },
              { type: 'FinalizeRouter', stableRevision: green.revision },
            ];
        commands.push({ type: 'MoveHpa', from: blue.deployment, to: green.deployment });
        return keep(
          advance(
            release,
            now,
            {
              reason: `promoted ${green.revision} to stable`,
              wakeIn: poll(release, now),
              patch: { switchedAt: now },
            },
            commands,
          ),
          {
            ...workload,
            stable: green,
            previous: [
              blue,
              ...workload.previous.filter(
                (p) => p.revision !== blue.revision && p.revision !== green.revision,
              ),
            ],
          },
          commands,
        );
      }
      const stable = obs.endpoints[canary.stableService];
      // The replica-ratio router reads the new revision's share, which is now all of it.
      const routesSettled = routerNone || !route || (route.weight === 0 && route.accepted);
      if ((stable?.readyByRevision[green.revision] ?? 0) < total || !routesSettled) {
        return wait(
          `waiting for ${canary.stableService} to list ${total} ready endpoints of ${green.deployment}`,
        );
      }
      return keep(
        advance(release, now, {
          phase: 'ScalingDown',
          reason: null,
          wakeIn: canary.scaleDownDelaySeconds * 1000,
        }),
      );
    }

    case 'RollingBack':
      return rollBackCanary(canary, release, workload, obs, now);

    default:
      return keep(release);
  }
}

/** When the background analysis needs the release again while it waits (null: not running). */
function backgroundWake(background: AnalysisRun | null, now: number): number | null {
  const due = background?.phase === 'Running' ? nextDue(background) : null;
  return due === null ? null : Math.max(0, due - now);
}

/** Starts or advances one analysis run of a canary (background or a step's). */
function stepAnalysis(
  target: EngineTarget,
  release: Release,
  kind: 'background' | 'step',
  ref: AnalysisRef,
  run: AnalysisRun | null,
  obs: Observation,
  now: number,
): { run: AnalysisRun } | { error: string } {
  if (!run) {
    const specs = resolveAnalysis(ref, target.spec.analysis?.templates ?? [], factsOf(target, release));
    if ('error' in specs) return specs;
    return { run: startRun(kind, specs, now) };
  }
  if (run.phase !== 'Running') return { run };
  return { run: advanceRun(run, obs.measurements?.[kind] ?? {}, now) };
}

/**
 * Abort or failure: all traffic back to stable at once (weight 0, header routes and canary objects
 * removed), then the canary revision removed — after abortScaleDownDelaySeconds for an abort.
 */
function rollBackCanary(
  canary: CanaryStrategy,
  release: Release,
  workload: Workload,
  obs: Observation,
  now: number,
): Decision {
  const blue = release.blue!;
  const green = release.green!;
  const outcome = release.rollbackOutcome ?? 'RolledBack';
  const selector = obs.snapshot.services[canary.stableService]?.selector ?? {};
  const route = obs.route;
  let w = workload;
  const commands: Command[] = [];
  const stableOnBlue = selector['switchyard.dev/revision'] === blue.revision;
  if (!stableOnBlue || (route && (route.weight !== 0 || route.headerRoute))) {
    const blueStatus = obs.snapshot.revisions[blue.revision];
    if (!blueStatus || blueStatus.desired < release.replicas) {
      commands.push({ type: 'ScaleRevision', deployment: blue.deployment, replicas: release.replicas });
      return { release: advance(release, now, { wakeIn: poll(release, now) }, commands), workload, commands };
    }
    if (!canary.trafficRouting || release.switchedAt !== null) {
      commands.push({ type: 'SelectRevision', service: canary.stableService, revision: blue.revision });
    }
    commands.push({ type: 'FinalizeRouter', stableRevision: blue.revision });
    if (release.switchedAt !== null) {
      commands.push({ type: 'MoveHpa', from: green.deployment, to: blue.deployment });
      w = {
        ...workload,
        stable: blue,
        previous: workload.previous.filter((p) => p.revision !== blue.revision),
      };
    }
    return {
      release: advance(release, now, { wakeIn: poll(release, now) }, commands),
      workload: w,
      commands,
    };
  }
  if (outcome === 'Aborted') {
    const at = now + canary.abortScaleDownDelaySeconds * 1000;
    return {
      release: advance(release, now, {
        phase: 'Aborted',
        patch: { cleanup: { deployment: green.deployment, at, action: 'delete' } },
      }),
      workload: endFor(w, release),
      commands: [],
    };
  }
  commands.push({ type: 'DeleteRevision', deployment: green.deployment });
  return {
    release: advance(release, now, { phase: outcome }, commands),
    workload: endFor(w, release),
    commands,
  };
}
