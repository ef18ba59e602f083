// Control commands (control.ts: promote, promote --full, abort, pause, resume, retry, restart, undo)
// through decideControl: each applied where it is valid, each refused where it is not, with the
// refusal's code (shared/refusals.ts) and the release left as it was.
import { describe, expect, it } from 'vitest';
import type { ControlMessage } from '../messages.ts';
import type { RefusalCode } from '../refusals.ts';
import { initialCanaryState } from './canary-state.ts';
import { type ControlOutcome, decideControl } from './control.ts';
import { blueGreenTarget, canaryTarget, controlMessage, digest, pushedRelease } from './model/fixtures.ts';
import type { Phase } from './phase.ts';
import { checkedRelease, emptyWorkload, type Release, type ReleaseDraft, type Workload } from './release.ts';
import type { EngineTarget } from './target.ts';

const now = 100_000;
const r0 = { revision: 'r0', deployment: 'api-r0', image: digest('0') };
const stable = { revision: 'r1', deployment: 'api-r1', image: digest('1') };
const candidate = { revision: 'r2', deployment: 'api-r2', image: digest('2') };

/** Release api-1 of v2 in `phase`, between r1 (stable) and r2, woken at 50 s; `patch` overrides. */
function release(phase: Phase, patch: Partial<ReleaseDraft> = {}): Release {
  const base = pushedRelease(digest('2'), 1000);
  const running = phase !== 'Pending' && phase !== 'Adopting';
  return checkedRelease({
    ...base,
    phase,
    phaseSince: 2000,
    replicas: 3,
    stable: running || phase === 'Adopting' ? stable : null,
    candidate: running ? candidate : null,
    wake: { step: 'analyze', at: 50_000, seq: 0 },
    tag: 'v2',
    ...patch,
  });
}

/** The workload while api-1 is in flight (stable r1, r0 before it). */
const inFlight = (): Workload => ({
  ...emptyWorkload('api'),
  stable,
  previous: [r0],
  inFlight: 'api-1',
  inFlightCandidate: candidate.deployment,
  lastRelease: 'api-1',
  releases: 1,
});
/** The workload at rest after api-1 ended. */
const atRest = (): Workload => ({ ...inFlight(), inFlight: null, inFlightCandidate: null });

const msg = (command: ControlMessage['command'], extra: Partial<ControlMessage> = {}): ControlMessage => ({
  ...controlMessage(command, 'req-00000001'),
  ...extra,
});

const canary = () => canaryTarget([{ setWeight: 20 }, { pause: {} }, { setWeight: 50 }]);

/** The outcome of `m`, which must be of `kind` (`live`: the releases in flight, default `r`). */
function outcome<K extends ControlOutcome['kind']>(
  kind: K,
  t: EngineTarget,
  m: ControlMessage,
  r: Release | null,
  w: Workload,
  live: Release[] = r && kind === 'applied' ? [r] : [],
): Extract<ControlOutcome, { kind: K }> {
  const out = decideControl(t, m, r, w, live, now);
  if (out.kind !== kind) throw new Error(`${m.command}: ${out.kind} ${'reason' in out ? out.reason : ''}`);
  return out as Extract<ControlOutcome, { kind: K }>;
}
const applied = (t: EngineTarget, m: ControlMessage, r: Release | null, w: Workload, live?: Release[]) =>
  outcome('applied', t, m, r, w, live);
const started = (t: EngineTarget, m: ControlMessage, r: Release | null, w: Workload) =>
  outcome('started', t, m, r, w);

describe('decideControl(): applied', () => {
  it('promote at a canary pause {}: Progressing at the next step, woken now, with who asked and why', () => {
    const r = release('AwaitingPromotion', { canary: { ...initialCanaryState(0), step: 1, weight: 20 } });
    const w = inFlight();
    const out = applied(canary(), msg('promote', { reason: 'looks good' }), r, w);
    expect(out.release).toMatchObject({
      phase: 'Progressing',
      reason: 'promoted (looks good)',
      paused: false,
      phaseSince: now,
      seq: r.seq + 1,
      canary: { step: 2, stepSince: now, weight: 20 },
      wake: { step: 'analyze', at: now },
    });
    expect(out.release.history.at(-1)).toMatchObject({
      from: 'AwaitingPromotion',
      to: 'Progressing',
      cause: 'promote',
      by: 'ana',
    });
    expect(out.workload).toBe(w);
  });

  it('promote of a canary held at a setWeight step (inconclusive background analysis) stays at that step', () => {
    const r = release('AwaitingPromotion', { canary: { ...initialCanaryState(0), step: 0 } });
    const out = applied(canary(), msg('promote'), r, inFlight());
    expect(out.release).toMatchObject({ phase: 'Progressing', canary: { step: 0, stepSince: now } });
  });

  it('promote of a blue-green release in AwaitingPromotion: Switching at once', () => {
    const r = release('AwaitingPromotion', { paused: true });
    const out = applied(blueGreenTarget(), msg('promote'), r, inFlight());
    expect(out.release).toMatchObject({
      phase: 'Switching',
      reason: 'promoted',
      paused: false,
      wake: { step: 'switch', at: now },
    });
  });

  it('promote --full of a canary in Progressing skips the remaining steps to Switching', () => {
    const r = release('Progressing', { canary: { ...initialCanaryState(0), step: 0 } });
    const out = applied(canary(), msg('promote', { full: true }), r, inFlight());
    expect(out.release).toMatchObject({
      phase: 'Switching',
      reason: 'promoted (full)',
      wake: { step: 'switch', at: now },
      canary: { step: 0 },
    });
  });

  it('promote --full in ScalingDown skips the scale-down delay', () => {
    const r = release('ScalingDown', { switchedAt: now - 1000 });
    const out = applied(blueGreenTarget(), msg('promote', { full: true }), r, inFlight());
    expect(out.release).toMatchObject({
      phase: 'ScalingDown',
      reason: 'promoted (full): scale-down delay skipped',
      switchedAt: now - 30_000,
      wake: { step: 'scale-down', at: now },
    });
  });

  it('promote after an inconclusive post-promotion analysis keeps the new revision: ScalingDown', () => {
    const r = release('PostPromotionAnalysis', { paused: true, switchedAt: 5000 });
    const out = applied(blueGreenTarget(), msg('promote'), r, inFlight());
    expect(out.release).toMatchObject({
      phase: 'ScalingDown',
      reason: 'promoted after inconclusive analysis',
      paused: false,
      switchedAt: 5000,
      wake: { step: 'scale-down', at: now },
    });
  });

  it('abort of a release with a candidate: RollingBack to end Aborted, woken now, unpaused', () => {
    const r = release('Progressing', { paused: true, canary: initialCanaryState(0) });
    const w = inFlight();
    const out = applied(canary(), msg('abort', { reason: 'errors' }), r, w);
    expect(out.release).toMatchObject({
      phase: 'RollingBack',
      reason: 'aborted (errors)',
      rollbackOutcome: 'Aborted',
      paused: false,
      wake: { step: 'rollback', at: now },
    });
    expect(out.workload).toBe(w);
  });

  it('abort before a candidate exists ends Aborted at once and frees the workload', () => {
    const r = release('Pending', { wake: { step: 'deploy-green', at: 50_000, seq: 0 } });
    const out = applied(blueGreenTarget(), msg('abort'), r, inFlight());
    expect(out.release).toMatchObject({ phase: 'Aborted', reason: 'aborted', wake: null, cleanup: null });
    expect(out.workload).toMatchObject({ inFlight: null, inFlightCandidate: null, gcPending: true, stable });
  });

  it('abort of an adoption under way marks it aborted for decideAdoption to undo, still Adopting', () => {
    const adoption = { deployment: 'api', replicas: 3, revision: stable };
    const r = release('Adopting', { adoption, wake: { step: 'deploy-green', at: 50_000, seq: 0 } });
    const out = applied(blueGreenTarget(), msg('abort'), r, inFlight());
    expect(out.release).toMatchObject({
      phase: 'Adopting',
      reason: 'aborted: undoing the adoption',
      adoption: { ...adoption, aborted: true },
      wake: { step: 'deploy-green', at: now },
    });
  });

  it('pause holds the release where it is, with no wake-up; resume wakes it now', () => {
    const r = release('Progressing', { canary: initialCanaryState(0) });
    const w = inFlight();
    const paused = applied(canary(), msg('pause'), r, w);
    expect(paused.release).toMatchObject({
      phase: 'Progressing',
      paused: true,
      reason: 'paused',
      wake: null,
    });
    expect(paused.release.history.at(-1)).toMatchObject({ cause: 'pause', by: 'ana', to: 'Progressing' });
    expect(paused.workload).toBe(w);

    const resumed = applied(canary(), msg('resume'), paused.release, w);
    expect(resumed.release).toMatchObject({
      phase: 'Progressing',
      paused: false,
      reason: 'resumed',
      wake: { step: 'analyze', at: now },
    });
  });

  it('retry of a RolledBack release starts a new release of the same image and tag', () => {
    const r = release('RolledBack', { wake: null });
    const w = atRest();
    const out = started(blueGreenTarget(), msg('retry', { reason: 'flaky' }), r, w);
    expect(out.release).toMatchObject({
      id: 'api-2',
      number: 2,
      phase: 'Pending',
      image: r.image,
      tag: 'v2',
      trigger: { kind: 'retry', requestId: 'req-00000001', by: 'ana', reason: 'flaky' },
      reason: 'retry requested by ana: flaky',
      wake: { step: 'deploy-green', at: now },
    });
    expect(out.workload).toMatchObject({ inFlight: 'api-2', lastRelease: 'api-2', releases: 2, stable });
    expect(out.superseded).toEqual([]);
  });

  it('restart starts a release of the stable image marked with the time', () => {
    const out = started(blueGreenTarget(), msg('restart'), null, atRest());
    expect(out.release).toMatchObject({
      phase: 'Pending',
      image: stable.image,
      restartedAt: new Date(now).toISOString(),
      trigger: { kind: 'restart', by: 'ana' },
    });
    expect(out.workload.inFlight).toBe(out.release.id);
  });

  it('undo of a switched release still keeping its stable warm goes RollingBack to end RolledBack', () => {
    const r = release('ScalingDown', { switchedAt: 5000, wake: { step: 'scale-down', at: 50_000, seq: 0 } });
    const w = { ...inFlight(), stable: candidate, previous: [stable, r0] };
    const out = applied(blueGreenTarget(), msg('undo'), null, w, [r]);
    expect(out.release).toMatchObject({
      id: 'api-1',
      phase: 'RollingBack',
      reason: `undo: back to ${stable.deployment}`,
      rollbackOutcome: 'RolledBack',
      wake: { step: 'rollback', at: now },
    });
    expect(out.release.history.at(-1)).toMatchObject({ from: 'ScalingDown', cause: 'undo', by: 'ana' });
    expect(out.workload).toBe(w);
  });

  it('undo at rest starts a release back to the previous revision', () => {
    const out = started(blueGreenTarget(), msg('undo'), release('Succeeded', { wake: null }), atRest());
    expect(out.release).toMatchObject({
      phase: 'Pending',
      image: r0.image,
      undoTo: r0,
      trigger: { kind: 'undo', by: 'ana' },
    });
  });
});

/** A refused command: its message, the release addressed, the code and the sentence (or its gist). */
type Refusal = [
  name: string,
  m: ControlMessage,
  r: Release | null,
  code: RefusalCode,
  reason: string | RegExp,
  ctx?: { target?: () => EngineTarget; w?: Workload; live?: Release[] },
];

const progressing = () => release('Progressing', { canary: initialCanaryState(0) });
const rollingBack = () => release('RollingBack', { rollbackOutcome: 'RolledBack' });
const ended = () => release('Succeeded', { wake: null });
const onCanary = { target: canary };
const notWaiting = 'and does not wait for promotion';

const refusals: Refusal[] = [
  ['promote, no release', msg('promote'), null, 'no-release', 'promote: target api has no release yet'],
  ['promote, ended', msg('promote'), ended(), 'ended', 'promote: release api-1 is Succeeded'],
  [
    'promote, rolling back',
    msg('promote'),
    rollingBack(),
    'rolling-back',
    'promote: release api-1 is rolling back',
  ],
  [
    'promote, canary Progressing',
    msg('promote'),
    progressing(),
    'wrong-phase',
    `promote: release api-1 is Progressing ${notWaiting} (promote --full skips to the switch once green exists)`,
    onCanary,
  ],
  [
    'promote, ScalingDown without --full',
    msg('promote'),
    release('ScalingDown', { switchedAt: 5000 }),
    'wrong-phase',
    `promote: release api-1 is ScalingDown ${notWaiting}`,
  ],
  [
    'promote --full, Pending',
    msg('promote', { full: true }),
    release('Pending'),
    'wrong-phase',
    /Pending and/,
  ],
  ['abort, no release', msg('abort'), null, 'no-release', 'abort: target api has no release yet'],
  ['abort, ended', msg('abort'), release('Aborted', { wake: null }), 'ended', /api-1 is Aborted$/],
  ['abort, rolling back', msg('abort'), rollingBack(), 'rolling-back', /api-1 is already rolling back$/],
  [
    'pause, already paused',
    msg('pause'),
    release('Progressing', { paused: true }),
    'wrong-phase',
    'pause: release api-1 is already paused',
    onCanary,
  ],
  ['pause, rolling back', msg('pause'), rollingBack(), 'rolling-back', /rolling back, which is never paused/],
  ['pause, ended', msg('pause'), ended(), 'ended', 'pause: release api-1 is Succeeded'],
  ['resume, not paused', msg('resume'), progressing(), 'wrong-phase', /api-1 is not paused$/, onCanary],
  ['retry, no release', msg('retry'), null, 'no-release', 'retry: target api has no release to retry'],
  [
    'retry, Progressing',
    msg('retry'),
    progressing(),
    'wrong-phase',
    /Progressing; only a Failed, Aborted, RolledBack or Superseded/,
    onCanary,
  ],
  [
    'retry, another in flight',
    msg('retry'),
    release('Failed', { wake: null }),
    'in-flight',
    'retry: release api-1 is in flight; abort it first',
    { live: [progressing()] },
  ],
  [
    'restart, no stable revision',
    msg('restart'),
    null,
    'no-release',
    'restart: target api has no stable revision to restart yet',
    { w: emptyWorkload('api') },
  ],
  [
    'restart, one in flight',
    msg('restart'),
    progressing(),
    'in-flight',
    /abort it first or wait for it to end/,
    { live: [progressing()] },
  ],
  [
    'undo, no previous revision',
    msg('undo'),
    null,
    'no-release',
    'undo: target api has no earlier revision to go back to',
    { w: { ...atRest(), previous: [] } },
  ],
  [
    'undo, one in flight before its switch',
    msg('undo'),
    progressing(),
    'in-flight',
    'undo: release api-1 is in flight; abort it instead',
    { live: [progressing()] },
  ],
  [
    // Not "abort it instead": abort refuses a release that is rolling back.
    'undo, one rolling back already',
    msg('undo'),
    rollingBack(),
    'rolling-back',
    'undo: release api-1 is rolling back already; it ends on the earlier revision',
    { live: [rollingBack()] },
  ],
];

describe('decideControl(): refused', () => {
  it.each(refusals)('%s', (_name, m, r, code, reason, ctx = {}) => {
    const before = structuredClone(r);
    const out = decideControl(
      (ctx.target ?? blueGreenTarget)(),
      m,
      r,
      ctx.w ?? inFlight(),
      ctx.live ?? [],
      now,
    );
    expect(out).toMatchObject({ kind: 'refused', code });
    if (out.kind !== 'refused') return;
    if (typeof reason === 'string') expect(out.reason).toBe(reason);
    else expect(out.reason).toMatch(reason);
    expect(out.release).toBe(r);
    expect(r).toEqual(before);
  });
});
