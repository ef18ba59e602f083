// Manual control (SPEC §6): each command is applied to the release it names, or refused with a
// reason that says why and what to do instead. Pure.
import type { ControlMessage } from '../messages.ts';
import { advance, endFor } from './decide.ts';
import { supersedeFor } from './intake.ts';
import { createRelease, isBeforeSwitch, isTerminal, type Release, type Workload } from './release.ts';
import { type EngineTarget, strategyOf } from './target.ts';

export type ControlOutcome =
  | { kind: 'refused'; reason: string; release: Release | null }
  /** The named release changed. */
  | { kind: 'applied'; release: Release; workload: Workload }
  /** A new release starts (retry, restart, undo); `superseded` are releases it ended. */
  | { kind: 'started'; release: Release; workload: Workload; superseded: Release[] };

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
  const by = msg.requestedBy;
  const cause = msg.command;
  const refuse = (reason: string): ControlOutcome => ({
    kind: 'refused',
    reason: `${msg.command}: ${reason}`,
    release,
  });
  const apply = (next: Release): ControlOutcome => ({ kind: 'applied', release: next, workload });
  const extra = { by };
  const reasonOf = (text: string) => (msg.reason ? `${text} (${msg.reason})` : text);

  switch (msg.command) {
    case 'promote': {
      if (!release || isTerminal(release.phase)) return refuse(describe(release, 'has ended'));
      if (release.phase === 'RollingBack') return refuse(`release ${release.id} is rolling back`);
      const canary = target.spec.strategy.canary;
      if (canary && release.canary && release.phase === 'AwaitingPromotion' && !msg.full) {
        // Leave a pause {} (or an inconclusive analysis step): go on with the next step.
        const step = canary.steps[release.canary.step];
        const skip = step !== undefined && ('pause' in step || 'analysis' in step);
        const next = { ...release.canary, step: release.canary.step + (skip ? 1 : 0), stepSince: now };
        return apply(
          advance(
            release,
            now,
            {
              phase: 'Progressing',
              reason: reasonOf('promoted'),
              wakeIn: 0,
              cause,
              patch: { paused: false, canary: next },
            },
            [],
            extra,
          ),
        );
      }
      if (
        release.phase === 'AwaitingPromotion' ||
        (msg.full && isBeforeSwitch(release.phase) && release.green)
      ) {
        return apply(
          advance(
            release,
            now,
            {
              phase: 'Switching',
              reason: reasonOf(msg.full ? 'promoted (full)' : 'promoted'),
              wakeIn: 0,
              cause,
              patch: { paused: false },
            },
            [],
            extra,
          ),
        );
      }
      if (release.phase === 'PostPromotionAnalysis' && release.paused) {
        // Post-promotion analysis was inconclusive: a human keeps the new revision.
        return apply(
          advance(
            release,
            now,
            {
              phase: 'ScalingDown',
              reason: reasonOf('promoted after inconclusive analysis'),
              wakeIn: 0,
              cause,
              patch: { paused: false },
            },
            [],
            extra,
          ),
        );
      }
      if (msg.full && (release.phase === 'ScalingDown' || release.phase === 'PostPromotionAnalysis')) {
        return apply(
          advance(
            release,
            now,
            {
              phase: 'ScalingDown',
              reason: reasonOf('promoted (full): scale-down delay skipped'),
              wakeIn: 0,
              cause,
              patch: {
                switchedAt: now - strategyOf(target).scaleDownDelaySeconds * 1000,
                paused: false,
              },
            },
            [],
            extra,
          ),
        );
      }
      return refuse(
        `release ${release.id} is ${release.phase} and does not wait for promotion` +
          (isBeforeSwitch(release.phase) ? ' (promote --full skips to the switch once green exists)' : ''),
      );
    }

    case 'abort': {
      if (!release || isTerminal(release.phase)) return refuse(describe(release, 'has ended'));
      if (release.phase === 'RollingBack') return refuse(`release ${release.id} is already rolling back`);
      if (!release.green) {
        return {
          kind: 'applied',
          release: advance(release, now, { phase: 'Aborted', reason: reasonOf('aborted'), cause }, [], extra),
          workload: endFor(workload, release),
        };
      }
      return apply(
        advance(
          release,
          now,
          {
            phase: 'RollingBack',
            reason: reasonOf('aborted'),
            wakeIn: 0,
            cause,
            patch: { rollbackOutcome: 'Aborted', paused: false },
          },
          [],
          extra,
        ),
      );
    }

    case 'pause': {
      if (!release || isTerminal(release.phase)) return refuse(describe(release, 'has ended'));
      if (release.paused) return refuse(`release ${release.id} is already paused`);
      if (release.phase === 'RollingBack')
        return refuse(`release ${release.id} is rolling back, which is never paused`);
      return apply(
        advance(release, now, { reason: reasonOf('paused'), cause, patch: { paused: true } }, [], extra),
      );
    }

    case 'resume': {
      if (!release || isTerminal(release.phase)) return refuse(describe(release, 'has ended'));
      if (!release.paused) return refuse(`release ${release.id} is not paused`);
      return apply(
        advance(
          release,
          now,
          { reason: reasonOf('resumed'), wakeIn: 0, cause, patch: { paused: false } },
          [],
          extra,
        ),
      );
    }

    case 'retry': {
      if (!release) return refuse(`target ${target.name} has no release to retry`);
      if (!['Failed', 'Aborted', 'RolledBack', 'Superseded'].includes(release.phase)) {
        return refuse(
          `release ${release.id} is ${release.phase}; only a Failed, Aborted, RolledBack or Superseded release can be retried`,
        );
      }
      if (live.length > 0) return refuse(`release ${live[0]!.id} is in flight; abort it first`);
      return start(target, workload, live, now, msg, {
        image: release.image,
        ...(release.tag ? { tag: release.tag } : {}),
      });
    }

    case 'restart': {
      if (!workload.stable) return refuse(`target ${target.name} has no stable revision to restart yet`);
      if (live.length > 0)
        return refuse(`release ${live[0]!.id} is in flight; abort it first or wait for it to end`);
      return start(target, workload, live, now, msg, {
        image: workload.stable.image,
        restartedAt: new Date(now).toISOString(),
      });
    }

    case 'undo': {
      // A release that has switched but still keeps blue warm goes back to it in one step.
      const current = live.find((r) => r.switchedAt !== null && r.blue && r.phase !== 'RollingBack');
      if (current) {
        return {
          kind: 'applied',
          release: advance(
            current,
            now,
            {
              phase: 'RollingBack',
              reason: reasonOf(`undo: back to ${current.blue!.deployment}`),
              wakeIn: 0,
              cause,
              patch: { rollbackOutcome: 'RolledBack', paused: false },
            },
            [],
            extra,
          ),
          workload,
        };
      }
      const previous = workload.previous[0];
      if (!previous) return refuse(`target ${target.name} has no earlier revision to go back to`);
      if (live.length > 0) return refuse(`release ${live[0]!.id} is in flight; abort it instead`);
      return start(target, workload, live, now, msg, { image: previous.image, undoTo: previous });
    }
  }
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
      ...(what.tag ? { tag: what.tag } : {}),
      ...(what.restartedAt ? { restartedAt: what.restartedAt } : {}),
      ...(what.undoTo ? { undoTo: what.undoTo } : {}),
      reason: `${kind} requested by ${msg.requestedBy}${msg.reason ? `: ${msg.reason}` : ''}`,
    },
    now,
  );
  const placed = supersedeFor(release, workload, live, now);
  if (placed.kind !== 'released') throw new Error('unreachable');
  return {
    kind: 'started',
    release: placed.release,
    workload: placed.workload,
    superseded: placed.superseded,
  };
}

function describe(release: Release | null, what: string): string {
  return release ? `release ${release.id} is ${release.phase}` : `no release ${what}`;
}
