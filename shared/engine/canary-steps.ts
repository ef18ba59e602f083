// Progressing: the canary's steps in order — setWeight, pause, analysis, setCanaryScale,
// setHeaderRoute — each through its handler in one table the compiler checks, with the background
// analysis beside them. Pure.
import { type AnalysisRun, nextDue } from '../analysis/run.ts';
import type { HeaderRoute } from '../routers/router.ts';
import type { CanaryStep } from '../target/canary.ts';
import { backgroundWake, stepAnalysis } from './analysis.ts';
import {
  type Canary,
  canaryAct,
  canaryReplicasFor,
  canaryRollBack,
  canaryWait,
  headerRouteOf,
  sameRoute,
  scaleCanary,
  withState,
} from './canary-state.ts';
import { type Decision, go, poll } from './kernel.ts';
import type { CanaryState } from './release.ts';

type KeysOf<T> = T extends unknown ? keyof T : never;
/** The kinds of canary step: setWeight, pause, analysis, setCanaryScale, setHeaderRoute. */
export type StepKind = KeysOf<CanaryStep>;
type StepOf<K extends StepKind> = Extract<CanaryStep, Record<K, unknown>>;

/** A pass over the current step: the state with the background analysis advanced. */
interface Progress extends Canary {
  s: CanaryState;
}

interface StepHandler<K extends StepKind> {
  /** Whether the progress deadline bounds the step (pauses and analysis take as long as they take). */
  bounded: boolean;
  run: (p: Progress, step: StepOf<K>) => Decision;
}

const handlers: { [K in StepKind]: StepHandler<K> } = {
  setWeight: { bounded: true, run: (p, step) => routeStep(p, step.setWeight, p.s.headerRoute) },
  setHeaderRoute: {
    bounded: true,
    run: (p, step) => routeStep(p, p.s.weight, headerRouteOf(step.setHeaderRoute)),
  },
  pause: { bounded: false, run: pauseStep },
  analysis: { bounded: false, run: analysisStep },
  setCanaryScale: { bounded: true, run: scaleStep },
};

function kindOf(step: CanaryStep): StepKind {
  if ('setWeight' in step) return 'setWeight';
  if ('setHeaderRoute' in step) return 'setHeaderRoute';
  if ('pause' in step) return 'pause';
  if ('analysis' in step) return 'analysis';
  return 'setCanaryScale';
}

/** Progressing: the background analysis first, then the current step (promotion after the last). */
export function progressing(c: Canary): Decision {
  const background = backgroundStep(c);
  if (!('run' in background)) return background;
  const s: CanaryState = { ...c.state, background: background.run };
  const p: Progress = { ...c, s };
  const step = c.canary.steps[s.step];
  if (!step) return go(c, { phase: 'Switching', reason: null, wakeIn: 0, patch: withState(c, s) });
  const handler = handlers[kindOf(step)] as StepHandler<StepKind>;
  if (handler.bounded && c.now >= s.stepSince + c.target.spec.progressDeadlineSeconds * 1000) {
    return canaryRollBack(
      c,
      `canary step ${s.step + 1} did not complete within ${c.target.spec.progressDeadlineSeconds} s`,
      s,
    );
  }
  return (handler.run as (p: Progress, step: CanaryStep) => Decision)(p, step);
}

/** Background analysis runs beside the steps; it is started with the first step. */
function backgroundStep(c: Canary): Decision | { run: AnalysisRun | null } {
  let background = c.state.background;
  if (!c.canary.analysis) return { run: background };
  const outcome = stepAnalysis(
    c.target,
    c.release,
    'background',
    c.canary.analysis,
    background,
    c.obs,
    c.now,
  );
  if ('error' in outcome) return canaryRollBack(c, `background analysis: ${outcome.error}`);
  const before = background?.phase;
  background = outcome.run;
  if (background.phase === 'Failed') {
    return canaryRollBack(c, `background analysis failed: ${background.message}`, { background });
  }
  if (background.phase === 'Inconclusive' && before === 'Running') {
    return go(c, {
      phase: 'AwaitingPromotion',
      reason: `background analysis inconclusive: ${background.message}; promote to go on or abort`,
      cause: 'analysis',
      patch: withState(c, { background }),
    });
  }
  return { run: background };
}

/** On to the next step at once. */
function nextStep(p: Progress, extra: Partial<CanaryState> = {}, reason: string | null = null): Decision {
  const patch = withState(p, { ...p.s, ...extra, step: p.s.step + 1, stepSince: p.now });
  return go(p, { reason, wakeIn: 0, patch });
}

/** `ms`, or sooner when the background analysis is due to measure again. */
function soonest(p: Progress, ms: number): number {
  const background = p.s.background;
  const due = background?.phase === 'Running' ? nextDue(background) : null;
  return due === null ? ms : Math.max(0, Math.min(ms, due - p.now));
}

/** setWeight and setHeaderRoute: the canary big enough and listed, then the route in force. */
function routeStep(p: Progress, weight: number, headerRoute: HeaderRoute | null): Decision {
  return (
    (p.routerNone ? null : canaryReadyFor(p, weight, headerRoute)) ?? routeInForce(p, weight, headerRoute)
  );
}

/**
 * The canary must be big enough to take its weight before it gets it, and listed as ready by the
 * canary Service, which is what the route sends to.
 */
function canaryReadyFor(p: Progress, weight: number, headerRoute: HeaderRoute | null): Decision | null {
  const { s, candidate, status, canary } = p;
  const replicas = s.scale ?? canaryReplicasFor(p.total, weight);
  if ((status?.desired ?? 0) < replicas) return scaleCanary(p, replicas, s);
  const listedReady = p.obs.endpoints[canary.canaryService]?.readyByRevision[candidate.revision] ?? 0;
  if ((status?.ready ?? 0) >= replicas && !((weight > 0 || headerRoute) && listedReady < 1)) return null;
  return canaryWait(
    p,
    `waiting for ${candidate.deployment}: ${status?.ready ?? 0}/${replicas} ready, ${listedReady} listed by ${canary.canaryService}`,
    soonest(p, poll(p.release, p.now)),
    s,
  );
}

/** The router is asked again until what it reports reflects the step (its writes are idempotent). */
function routeInForce(p: Progress, weight: number, headerRoute: HeaderRoute | null): Decision {
  const { s, route } = p;
  const reflects =
    route !== null && sameRoute(route.headerRoute, headerRoute) && (p.routerNone || route.weight === weight);
  const asked = s.weight === weight && sameRoute(s.headerRoute, headerRoute);
  if (!asked || !reflects || !route) {
    return canaryAct(p, [{ type: 'SetWeight', weight, headerRoute }], `setting weight ${weight}`, {
      ...s,
      weight,
      headerRoute,
    });
  }
  if (!route.accepted) {
    return canaryWait(
      p,
      `waiting for the router to accept weight ${weight}${route.message ? `: ${route.message}` : ''}`,
      soonest(p, poll(p.release, p.now)),
      { ...s, weight, headerRoute },
    );
  }
  const achieved = p.routerNone ? ` (achieved ${route.weight}% by replica ratio)` : '';
  return nextStep(p, { weight, headerRoute }, `weight ${weight} in force${achieved}`);
}

/** pause: without a duration, until promote; with one, that long. */
function pauseStep(p: Progress, step: StepOf<'pause'>): Decision {
  const { s, now } = p;
  const duration = step.pause.duration;
  if (duration === undefined) {
    return go(p, {
      phase: 'AwaitingPromotion',
      reason: `paused at step ${s.step + 1}: promote to go on`,
      cause: 'step',
      wakeIn: backgroundWake(s.background, now),
      patch: withState(p, s),
    });
  }
  const due = s.stepSince + duration * 1000;
  if (now < due)
    return canaryWait(p, `pausing ${duration} s at step ${s.step + 1}`, soonest(p, due - now), s);
  return nextStep(p);
}

/** analysis: a run of its own; failed rolls back, inconclusive waits for a human. */
function analysisStep(p: Progress, step: StepOf<'analysis'>): Decision {
  const { s, now } = p;
  const last = s.stepRuns.at(-1);
  const current = s.stepRuns.length && last!.startedAt >= s.stepSince ? last! : null;
  const outcome = stepAnalysis(p.target, p.release, 'step', step.analysis, current, p.obs, now);
  if ('error' in outcome) return canaryRollBack(p, `analysis at step ${s.step + 1}: ${outcome.error}`, s);
  const run = outcome.run;
  const stepRuns = current ? [...s.stepRuns.slice(0, -1), run] : [...s.stepRuns, run];
  if (run.phase === 'Running') {
    const due = nextDue(run) ?? now;
    const wakeIn = soonest(p, Math.max(0, due - now));
    return canaryWait(p, `analysis at step ${s.step + 1} running`, wakeIn, { ...s, stepRuns });
  }
  if (run.phase === 'Failed') {
    return canaryRollBack(p, `analysis at step ${s.step + 1} failed: ${run.message}`, { ...s, stepRuns });
  }
  if (run.phase === 'Inconclusive') {
    return go(p, {
      phase: 'AwaitingPromotion',
      reason: `analysis at step ${s.step + 1} inconclusive: ${run.message}; promote to go on or abort`,
      cause: 'analysis',
      patch: withState(p, { ...s, stepRuns }),
    });
  }
  return nextStep(p, { stepRuns });
}

/** setCanaryScale: the canary at a fixed size, a weight's share, or following the weight again. */
function scaleStep(p: Progress, step: StepOf<'setCanaryScale'>): Decision {
  const { s, status, candidate } = p;
  const scale = step.setCanaryScale;
  const replicas =
    'replicas' in scale
      ? scale.replicas
      : 'weight' in scale
        ? canaryReplicasFor(p.total, scale.weight)
        : canaryReplicasFor(p.total, s.weight);
  const fixed = 'matchTrafficWeight' in scale ? null : replicas;
  if ((status?.desired ?? 0) !== replicas) return scaleCanary(p, replicas, { ...s, scale: fixed });
  if ((status?.ready ?? 0) < replicas) {
    // (The state is recorded as the pass found it, without this pass's background measurements.)
    return canaryWait(p, `waiting for ${candidate.deployment}: ${status?.ready ?? 0}/${replicas} ready`);
  }
  return nextStep(p, { scale: fixed });
}
