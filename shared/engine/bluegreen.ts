// The blue-green strategy from the moment green exists: green ready, pre-promotion analysis, the wait
// for promotion, the switch of the active Service, post-promotion analysis and the scale-down of
// blue (which a canary's promotion ends with too). Each phase is a list of small steps. Pure.
import { type AnalysisPatch, analysisStep } from './analysis.ts';
import type { Command } from './commands.ts';
import { holdUntilDrained, scaleDownWake } from './drain.ts';
import {
  act,
  type Decision,
  endFor,
  go,
  keep,
  listed,
  overdue,
  poll,
  promoted,
  type RunningContext,
  ready,
  rollBack,
  selectedRevision,
  wait,
} from './kernel.ts';
import type { Phase } from './phase.ts';
import type { RevisionRef } from './release.ts';
import { type BlueGreenStrategy, servicesOf, strategyOf } from './target.ts';
import { awaitingDependencies, trainAfterSwitch, trainFailed } from './trains.ts';

type PhaseStep = (ctx: RunningContext) => Decision;

const phases: Partial<Record<Phase, PhaseStep>> = {
  DeployingGreen: deployingGreen,
  PrePromotionAnalysis: prePromotion,
  AwaitingDependencies: awaitingTrain,
  AwaitingPromotion: awaitingPromotion,
  Switching: switching,
  PostPromotionAnalysis: postPromotion,
  ScalingDown: scalingDown,
};

/** The blue-green phases from the moment green exists (RollingBack is rollBackBlueGreen's). */
export function decideBlueGreen(ctx: RunningContext): Decision {
  return phases[ctx.release.phase]?.(ctx) ?? keep(ctx);
}

const problemOf = (status: { problem?: string } | undefined, format: (p: string) => string) =>
  status?.problem ? format(status.problem) : '';

function deployingGreen(ctx: RunningContext): Decision {
  const failed = trainFailed(ctx);
  if (failed) return failed;
  const { release, target } = ctx;
  const green = release.candidate;
  const status = ctx.obs.snapshot.revisions[green.revision];
  const wanted = strategyOf(target).previewReplicaCount ?? release.replicas;
  if (status?.progressDeadlineExceeded || overdue(ctx)) {
    return rollBack(
      ctx,
      `green revision ${green.deployment} did not become ready within ${target.spec.progressDeadlineSeconds} s (${status?.ready ?? 0}/${wanted} ready)${problemOf(status, (p) => `: ${p}`)}`,
    );
  }
  if (!status?.exists || status.ready < wanted) {
    return wait(
      ctx,
      `waiting for ${green.deployment}: ${status?.ready ?? 0}/${wanted} ready${problemOf(status, (p) => ` (${p})`)}`,
    );
  }
  return awaitingDependencies(ctx) ?? go(ctx, { phase: 'PrePromotionAnalysis', reason: null, wakeIn: 0 });
}

/**
 * The candidate ready, the release train's dependencies switched (trains.ts), then the checks: a
 * pre-promotion analysis of a train's member runs against its dependencies' new versions.
 */
function prePromotion(ctx: RunningContext): Decision {
  return trainFailed(ctx) ?? previewReady(ctx) ?? awaitingDependencies(ctx) ?? preAnalysis(ctx);
}

/** AwaitingDependencies: the candidate kept ready while the train's dependencies switch, then its checks. */
function awaitingTrain(ctx: RunningContext): Decision {
  return (
    trainFailed(ctx) ??
    previewReady(ctx) ??
    awaitingDependencies(ctx) ??
    go(ctx, { phase: 'PrePromotionAnalysis', reason: null, wakeIn: 0, cause: 'train' })
  );
}

/** Green must still be ready (as the preview Service lists it, if there is one) before promotion. */
function previewReady(ctx: RunningContext): Decision | null {
  const { release, obs } = ctx;
  const bg = strategyOf(ctx.target);
  const green = release.candidate;
  const wanted = bg.previewReplicaCount ?? release.replicas;
  const readyNow = bg.previewService
    ? ready(obs.endpoints[bg.previewService], green.revision)
    : (obs.snapshot.revisions[green.revision]?.ready ?? 0);
  if (readyNow >= wanted) return null;
  if (overdue(ctx))
    return rollBack(ctx, `green revision ${green.deployment} lost readiness before promotion`);
  return wait(ctx, `waiting for ${wanted} ready endpoints of ${green.deployment}`);
}

function preAnalysis(ctx: RunningContext): Decision {
  const { target, release, obs, now } = ctx;
  const bg = strategyOf(target);
  const pre = analysisStep(target, release, 'pre', bg.prePromotionAnalysis, obs, now);
  switch (pre.kind) {
    case 'waiting':
      return { ...keep(ctx), release: pre.release };
    case 'failed':
      return rollBack(ctx, pre.reason, pre.patch);
    case 'inconclusive': {
      const change = {
        phase: 'AwaitingPromotion',
        reason: pre.reason,
        wakeIn: null,
        cause: 'analysis',
      } as const;
      return go(ctx, { ...change, patch: pre.patch });
    }
    case 'passed':
      return promotion({ ...ctx, release: { ...release, ...pre.patch } }, bg);
    case 'none':
      return promotion(ctx, bg);
  }
}

/** Ready and checked: wait for promote, promote after autoPromotionSeconds, or switch now. */
function promotion(ctx: RunningContext, bg: BlueGreenStrategy): Decision {
  if (!bg.autoPromotionEnabled) {
    return go(ctx, {
      phase: 'AwaitingPromotion',
      reason: 'waiting for promote',
      wakeIn: null,
      cause: 'readiness',
    });
  }
  if (bg.autoPromotionSeconds !== undefined && bg.autoPromotionSeconds > 0) {
    return go(ctx, {
      phase: 'AwaitingPromotion',
      reason: `promoting automatically in ${bg.autoPromotionSeconds} s`,
      wakeIn: bg.autoPromotionSeconds * 1000,
      cause: 'readiness',
    });
  }
  return go(ctx, { phase: 'Switching', reason: null, wakeIn: 0, cause: 'readiness' });
}

function awaitingPromotion(ctx: RunningContext): Decision {
  const { release, now } = ctx;
  const bg = strategyOf(ctx.target);
  const due =
    bg.autoPromotionEnabled && bg.autoPromotionSeconds !== undefined
      ? release.phaseSince + bg.autoPromotionSeconds * 1000
      : null;
  if (due === null || now < due) return keep(ctx);
  return go(ctx, { phase: 'Switching', reason: 'autoPromotionSeconds elapsed', wakeIn: 0, cause: 'timer' });
}

/** Switching: green at full size and ready, the active Service moved to it, and listing it. */
function switching(ctx: RunningContext): Decision {
  const green = ctx.release.candidate;
  if (!ctx.obs.snapshot.revisions[green.revision]?.exists) {
    return rollBack(ctx, `green revision ${green.deployment} disappeared`);
  }
  return (
    greenScaledUp(ctx, green) ?? activeSwitched(ctx, green) ?? activeListsGreen(ctx, green) ?? switched(ctx)
  );
}

function greenScaledUp(ctx: RunningContext, green: RevisionRef): Decision | null {
  const full = ctx.release.replicas;
  if (ctx.obs.snapshot.revisions[green.revision]!.desired >= full) return null;
  const commands: Command[] = [{ type: 'ScaleRevision', deployment: green.deployment, replicas: full }];
  return act(ctx, commands, `scaling ${green.deployment} to ${full}`);
}

function activeSwitched(ctx: RunningContext, green: RevisionRef): Decision | null {
  const { release, now, obs } = ctx;
  const active = strategyOf(ctx.target).activeService;
  const status = obs.snapshot.revisions[green.revision]!;
  const full = release.replicas;
  if (selectedRevision(obs.snapshot, active) === green.revision) return null;
  if (status.ready < full) {
    if (status.progressDeadlineExceeded || overdue(ctx)) {
      return rollBack(
        ctx,
        `green revision ${green.deployment} did not reach ${full} ready replicas${problemOf(status, (p) => `: ${p}`)}`,
      );
    }
    return wait(ctx, `waiting for ${green.deployment}: ${status.ready}/${full} ready`);
  }
  const blue = release.stable;
  const commands: Command[] = [
    { type: 'SelectRevision', service: active, revision: green.revision },
    { type: 'MoveHpa', from: blue.deployment, to: green.deployment },
  ];
  const change = { reason: `switched ${active} to ${green.revision}`, wakeIn: poll(release, now) };
  return go(ctx, { ...change, patch: { switchedAt: now } }, commands, promoted(ctx.workload, blue, green));
}

function activeListsGreen(ctx: RunningContext, green: RevisionRef): Decision | null {
  const active = strategyOf(ctx.target).activeService;
  const full = ctx.release.replicas;
  if (ready(ctx.obs.endpoints[active], green.revision) >= full) return null;
  if (overdue(ctx))
    return rollBack(ctx, `${active} never listed ${full} ready endpoints of ${green.deployment}`);
  return wait(ctx, `waiting for ${active} to list ${full} ready endpoints of ${green.deployment}`);
}

/** Switched: post-promotion analysis next, or the scale-down delay. */
function switched(ctx: RunningContext): Decision {
  const { release, now } = ctx;
  const bg = strategyOf(ctx.target);
  const patch = { switchedAt: release.switchedAt ?? now };
  if (bg.postPromotionAnalysis) {
    return go(ctx, { phase: 'PostPromotionAnalysis', reason: null, wakeIn: 0, patch });
  }
  return go(ctx, { phase: 'ScalingDown', reason: null, wakeIn: scaleDownWake(ctx.target, 0), patch });
}

function postPromotion(ctx: RunningContext): Decision {
  const { target, release, obs, now } = ctx;
  const bg = strategyOf(target);
  const post = analysisStep(target, release, 'post', bg.postPromotionAnalysis, obs, now);
  if (post.kind === 'waiting') return { ...keep(ctx), release: post.release };
  // Blue is still warm: a failed check sends traffic back to it.
  if (post.kind === 'failed') return rollBack(ctx, post.reason, post.patch);
  if (post.kind === 'inconclusive') {
    return go(ctx, { reason: post.reason, cause: 'analysis', patch: { ...post.patch, paused: true } });
  }
  const patch: AnalysisPatch = post.kind === 'passed' ? post.patch : {};
  const since = now - (release.switchedAt ?? now);
  return go(ctx, { phase: 'ScalingDown', reason: null, wakeIn: scaleDownWake(target, since), patch });
}

/**
 * After scaleDownDelaySeconds (or, with spec.drain, once blue has drained): the other Services off
 * blue, no Service listing blue, then blue scaled to zero.
 */
function scalingDown(ctx: RunningContext): Decision {
  const held = trainAfterSwitch(ctx) ?? delayOrDrain(ctx);
  if (held) return held;
  const blue = ctx.release.stable;
  return servicesOffBlue(ctx, blue) ?? blueDrained(ctx, blue) ?? blueScaledDown(ctx, blue);
}

/** The fixed scale-down delay, or the drain that replaces it. */
function delayOrDrain(ctx: RunningContext): Decision | null {
  const { release, now } = ctx;
  const { drain } = ctx.target.spec;
  if (drain) return holdUntilDrained(ctx, drain);
  const due =
    (release.switchedAt ?? release.phaseSince) + strategyOf(ctx.target).scaleDownDelaySeconds * 1000;
  return now < due ? go(ctx, { wakeIn: due - now }) : null;
}

/**
 * Every other Service still naming blue (a preview Service after an undo) moves to the new stable
 * first, and blue goes once no Service lists it: the same rule as decideCleanup's.
 */
function servicesOffBlue(ctx: RunningContext, blue: RevisionRef): Decision | null {
  const active = strategyOf(ctx.target).activeService;
  const green = ctx.release.candidate;
  const snap = ctx.obs.snapshot;
  const moves: Command[] = servicesOf(ctx.target)
    .filter((s) => s !== active && selectedRevision(snap, s) === blue.revision)
    .map((service) => ({
      type: 'SelectRevision',
      service,
      revision: green.revision,
      onlyFrom: blue.revision,
    }));
  if (moves.length === 0) return null;
  return act(ctx, moves, `moving ${moves.length} Service(s) off ${blue.deployment}`);
}

function blueDrained(ctx: RunningContext, blue: RevisionRef): Decision | null {
  const listing = servicesOf(ctx.target).filter((s) => listed(ctx.obs.endpoints[s], blue.revision) > 0);
  if (listing.length === 0) return null;
  return wait(ctx, `waiting for ${listing.join(', ')} to stop listing ${blue.deployment}`);
}

function blueScaledDown(ctx: RunningContext, blue: RevisionRef): Decision {
  const commands: Command[] = [{ type: 'ScaleRevision', deployment: blue.deployment, replicas: 0 }];
  return go(ctx, { phase: 'Succeeded', reason: null }, commands, endFor(ctx.workload, ctx.release));
}
