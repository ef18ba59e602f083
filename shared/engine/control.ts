// Manual control (SPEC §6): each command is applied to the release it names, or refused with a
// reason that says why and what to do instead. Commands dispatch through one handler table that
// the compiler checks covers every command. Pure.
import type { ControlCommand, ControlMessage } from '../messages.ts';
import type { RefusalCode } from '../refusals.ts';
import { supersedeFor } from './intake.ts';
import { advance, type Change, endFor } from './kernel.ts';
import { isBeforeSwitch, isTerminal } from './phase.ts';
import { createRelease, isRunning, type Release, type RunningRelease, type Workload } from './release.ts';
import { type EngineTarget, strategyOf } from './target.ts';
import { versionOf } from './trains.ts';

export type ControlOutcome =
  | { kind: 'refused'; code: RefusalCode; reason: string; release: Release | null }
  /** The named release changed. */
  | { kind: 'applied'; release: Release; workload: Workload }
  /** A new release starts (retry, restart, undo); `superseded` are releases it ended. */
  | { kind: 'started'; release: Release; workload: Workload; superseded: Release[] };

/** A control message as its handler sees it. */
interface Control {
  target: EngineTarget;
  msg: ControlMessage;
  /** The release it addresses (the one named, else the target's latest). */
  release: Release | null;
  workload: Workload;
  /** The target's releases in flight or queued. */
  live: Release[];
  now: number;
}

type Handler = (c: Control) => ControlOutcome;

const handlers: Record<ControlCommand, Handler> = { promote, abort, pause, resume, retry, restart, undo };

/**
 * Applies a control message. `release` is the release it addresses (the one named, else the
 * target's latest), `live` are the target's releases in flight or queued.
 */
export function decideControl(
  target: EngineTarget,
  msg: ControlMessage,
  release: Release | null,
  workload: Workload,
  live: Release[],
  now: number,
): ControlOutcome {
  return handlers[msg.command]({ target, msg, release, workload, live, now });
}

function refuse(c: Control, code: RefusalCode, reason: string): ControlOutcome {
  return { kind: 'refused', code, reason: `${c.msg.command}: ${reason}`, release: c.release };
}

/** The release changed by the command (caused by it, by whom it asked); the workload as it was unless told. */
function apply(c: Control, release: Release, change: Change, workload = c.workload): ControlOutcome {
  const next = advance(release, c.now, { ...change, cause: c.msg.command }, [], { by: c.msg.requestedBy });
  return { kind: 'applied', release: next, workload };
}

/** A reason with the requester's own words, if any. */
function reasonOf(c: Control, text: string): string {
  return c.msg.reason ? `${text} (${c.msg.reason})` : text;
}

/** The release addressed, unless it has ended (or there is none): then the refusal. */
function liveRelease(c: Control): Release | ControlOutcome {
  const release = c.release;
  if (!release) return refuse(c, 'no-release', `target ${c.target.name} has no release yet`);
  if (isTerminal(release.phase)) return refuse(c, 'ended', `release ${release.id} is ${release.phase}`);
  return release;
}

function promote(c: Control): ControlOutcome {
  const release = liveRelease(c);
  if ('kind' in release) return release;
  if (release.phase === 'RollingBack')
    return refuse(c, 'rolling-back', `release ${release.id} is rolling back`);
  return (
    promoteCanaryStep(c, release) ??
    promoteToSwitch(c, release) ??
    promoteAfterInconclusive(c, release) ??
    promoteSkippingDelay(c, release) ??
    refuse(
      c,
      'wrong-phase',
      `release ${release.id} is ${release.phase} and does not wait for promotion` +
        (isBeforeSwitch(release.phase) ? ' (promote --full skips to the switch once green exists)' : ''),
    )
  );
}

/** A canary waiting at a pause {} (or an inconclusive analysis step): go on with the next step. */
function promoteCanaryStep(c: Control, release: Release): ControlOutcome | null {
  const canary = c.target.spec.strategy.canary;
  if (!canary || !release.canary || release.phase !== 'AwaitingPromotion' || c.msg.full) return null;
  const step = canary.steps[release.canary.step];
  const skip = step !== undefined && ('pause' in step || 'analysis' in step);
  const next = { ...release.canary, step: release.canary.step + (skip ? 1 : 0), stepSince: c.now };
  return apply(c, release, {
    phase: 'Progressing',
    reason: reasonOf(c, 'promoted'),
    wakeIn: 0,
    patch: { paused: false, canary: next },
  });
}

function promoteToSwitch(c: Control, release: Release): ControlOutcome | null {
  const full = c.msg.full && isBeforeSwitch(release.phase) && release.candidate;
  if (release.phase !== 'AwaitingPromotion' && !full) return null;
  return apply(c, release, {
    phase: 'Switching',
    reason: reasonOf(c, c.msg.full ? 'promoted (full)' : 'promoted'),
    wakeIn: 0,
    patch: { paused: false },
  });
}

/** Post-promotion analysis was inconclusive: a human keeps the new revision. */
function promoteAfterInconclusive(c: Control, release: Release): ControlOutcome | null {
  if (release.phase !== 'PostPromotionAnalysis' || !release.paused) return null;
  return apply(c, release, {
    phase: 'ScalingDown',
    reason: reasonOf(c, 'promoted after inconclusive analysis'),
    wakeIn: 0,
    patch: { paused: false },
  });
}

function promoteSkippingDelay(c: Control, release: Release): ControlOutcome | null {
  if (!c.msg.full || (release.phase !== 'ScalingDown' && release.phase !== 'PostPromotionAnalysis'))
    return null;
  return apply(c, release, {
    phase: 'ScalingDown',
    reason: reasonOf(c, 'promoted (full): scale-down delay skipped'),
    wakeIn: 0,
    patch: {
      switchedAt: c.now - strategyOf(c.target).scaleDownDelaySeconds * 1000,
      paused: false,
    },
  });
}

function abort(c: Control): ControlOutcome {
  const release = liveRelease(c);
  if ('kind' in release) return release;
  if (release.phase === 'RollingBack')
    return refuse(c, 'rolling-back', `release ${release.id} is already rolling back`);
  if (release.phase === 'Adopting' && release.adoption) {
    // An adoption under way is undone in order (selectors back first): decideAdoption does it.
    return apply(c, release, {
      reason: reasonOf(c, 'aborted: undoing the adoption'),
      wakeIn: 0,
      patch: { adoption: { ...release.adoption, aborted: true }, paused: false },
    });
  }
  if (!release.candidate) {
    return apply(
      c,
      release,
      { phase: 'Aborted', reason: reasonOf(c, 'aborted') },
      endFor(c.workload, release),
    );
  }
  return apply(c, release, {
    phase: 'RollingBack',
    reason: reasonOf(c, 'aborted'),
    wakeIn: 0,
    patch: { rollbackOutcome: 'Aborted', paused: false },
  });
}

function pause(c: Control): ControlOutcome {
  const release = liveRelease(c);
  if ('kind' in release) return release;
  if (release.paused) return refuse(c, 'wrong-phase', `release ${release.id} is already paused`);
  if (release.phase === 'RollingBack') {
    return refuse(c, 'rolling-back', `release ${release.id} is rolling back, which is never paused`);
  }
  return apply(c, release, { reason: reasonOf(c, 'paused'), patch: { paused: true } });
}

function resume(c: Control): ControlOutcome {
  const release = liveRelease(c);
  if ('kind' in release) return release;
  if (!release.paused) return refuse(c, 'wrong-phase', `release ${release.id} is not paused`);
  return apply(c, release, { reason: reasonOf(c, 'resumed'), wakeIn: 0, patch: { paused: false } });
}

function retry(c: Control): ControlOutcome {
  const { release, live, target } = c;
  if (!release) return refuse(c, 'no-release', `target ${target.name} has no release to retry`);
  if (!['Failed', 'Aborted', 'RolledBack', 'Superseded'].includes(release.phase)) {
    return refuse(
      c,
      'wrong-phase',
      `release ${release.id} is ${release.phase}; only a Failed, Aborted, RolledBack or Superseded release can be retried`,
    );
  }
  if (live.length > 0) return refuse(c, 'in-flight', `release ${live[0]!.id} is in flight; abort it first`);
  return start(target, c.workload, live, c.now, c.msg, {
    image: release.image,
    ...(release.tag ? { tag: release.tag } : {}),
  });
}

function restart(c: Control): ControlOutcome {
  const { workload, live, target } = c;
  if (!workload.stable)
    return refuse(c, 'no-release', `target ${target.name} has no stable revision to restart yet`);
  if (live.length > 0) {
    return refuse(
      c,
      'in-flight',
      `release ${live[0]!.id} is in flight; abort it first or wait for it to end`,
    );
  }
  return start(target, workload, live, c.now, c.msg, {
    image: workload.stable.image,
    restartedAt: new Date(c.now).toISOString(),
  });
}

function undo(c: Control): ControlOutcome {
  const { workload, live, target } = c;
  // A release that has switched but still keeps blue warm goes back to it in one step.
  const current = live.find(
    (r): r is RunningRelease => isRunning(r) && r.switchedAt !== null && r.phase !== 'RollingBack',
  );
  if (current) {
    return apply(c, current, {
      phase: 'RollingBack',
      reason: reasonOf(c, `undo: back to ${current.stable.deployment}`),
      wakeIn: 0,
      patch: { rollbackOutcome: 'RolledBack', paused: false },
    });
  }
  const previous = workload.previous[0];
  if (!previous)
    return refuse(c, 'no-release', `target ${target.name} has no earlier revision to go back to`);
  const inFlight = live[0];
  if (inFlight?.phase === 'RollingBack')
    return refuse(
      c,
      'rolling-back',
      `release ${inFlight.id} is rolling back already; it ends on the earlier revision`,
    );
  if (inFlight) return refuse(c, 'in-flight', `release ${inFlight.id} is in flight; abort it instead`);
  return start(target, workload, live, c.now, c.msg, { image: previous.image, undoTo: previous });
}

function start(
  target: EngineTarget,
  workload: Workload,
  live: Release[],
  now: number,
  msg: ControlMessage,
  what: { image: string; tag?: string; restartedAt?: string; undoTo?: Release['undoTo'] },
): ControlOutcome {
  const kind = msg.command as 'retry' | 'restart' | 'undo';
  const release = createRelease(
    workload,
    {
      target: target.name,
      targetGeneration: target.generation,
      trigger: {
        kind,
        requestId: msg.requestId,
        by: msg.requestedBy,
        ...(msg.reason ? { reason: msg.reason } : {}),
      },
      image: what.image,
      ...(what.tag ? { tag: what.tag, version: versionOf(target, what.tag) } : {}),
      ...(what.restartedAt ? { restartedAt: what.restartedAt } : {}),
      ...(what.undoTo ? { undoTo: what.undoTo } : {}),
      reason: `${kind} requested by ${msg.requestedBy}${msg.reason ? `: ${msg.reason}` : ''}`,
    },
    now,
  );
  const placed = supersedeFor(
    release,
    workload,
    live,
    now,
    strategyOf(target).abortScaleDownDelaySeconds * 1000,
  );
  if (placed.kind !== 'released') throw new Error('unreachable');
  return {
    kind: 'started',
    release: placed.release,
    workload: placed.workload,
    superseded: placed.superseded,
  };
}
