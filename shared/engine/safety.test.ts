// The paths that broke SPEC §14's first promise (never take down the revision that serves), each
// reproduced on a small cluster of the engine's own shapes: the engine must not even ask for it.
import { describe, expect, it } from 'vitest';
import { revisionOf } from '../kubernetes/revision.ts';
import { decideControl } from './control.ts';
import {
  blueGreenTarget,
  canaryTarget,
  controlMessage,
  digest,
  podTemplate,
  pushImage,
} from './model/fixtures.ts';
import { Cluster, drive, name, rev, step } from './model/hand-cluster.ts';
import { emptyWorkload, type Release, type Workload } from './release.ts';
import type { EngineTarget } from './target.ts';

function control(t: EngineTarget, command: 'abort' | 'promote', r: Release, w: Workload, now: number) {
  const out = decideControl(t, controlMessage(command, `req-${command}-0001`), r, w, [r], now);
  if (out.kind !== 'applied') throw new Error(`${command}: ${out.kind}`);
  return out;
}

/** A first push adopting the plain Deployment, stepped until the active Service names r0. */
function adoptUntilNarrowed(t: EngineTarget, c: Cluster) {
  const first = pushImage(t, digest('2'), emptyWorkload('api'), 0);
  let r = first.release;
  let w = first.workload;
  let now = 0;
  for (let i = 0; i < 20 && c.selectors.api?.[rev] === undefined; i++) {
    now = Math.max(now, r.wake!.at);
    ({ release: r, workload: w } = step(t, c, r, w, now));
  }
  expect(c.selectors.api?.[rev]).toBe(revisionOf(podTemplate(digest('1'))));
  return { release: r, workload: w, now };
}

describe('the serving revision is never taken down', () => {
  it('adoption: once the Service names r0, r0 is never scaled down, even when it drops below the old count past the deadline', () => {
    const t = blueGreenTarget();
    const c = new Cluster(t);
    let { release: r, workload: w, now } = adoptUntilNarrowed(t, c);
    const r0 = revisionOf(podTemplate(digest('1')));
    // An HPA moved onto r0 scales it below the plain Deployment's old count; pods stay unready.
    c.instant = false;
    c.revisions[r0]!.desired = 2;
    c.revisions[r0]!.ready = 1;
    now += 120_000;
    const end = drive(t, c, r, w, now, 40);
    expect(c.violations()).toEqual([]);
    // Undone, it gives the Service back its original selector first, and keeps the plain Deployment
    // up; r0 goes only then. Not undone, r0 keeps serving.
    if (end.release.phase === 'Failed') {
      expect(c.selectors.api).toEqual({ [name]: 'api' });
      expect(c.plain?.replicas).toBe(3);
    } else expect(c.revisions[r0]!.desired).toBeGreaterThan(0);
  });

  it('adoption aborted after a pass scaled the plain Deployment down and lost its commit: the plain Deployment comes back before r0 goes', () => {
    const t = blueGreenTarget();
    const c = new Cluster(t);
    let { release: r, workload: w, now } = adoptUntilNarrowed(t, c);
    const r0 = revisionOf(podTemplate(digest('1')));
    // The pass that scaled the plain Deployment to zero lost its commit; then an abort arrives.
    c.plain = { replicas: 0, ready: 0 };
    c.instant = false;
    ({ release: r, workload: w } = control(t, 'abort', r, w, now));
    const undoing = drive(t, c, r, w, now, 20);
    expect(c.violations()).toEqual([]);
    expect(c.plain?.replicas).toBe(3);
    expect(c.revisions[r0]!.desired).toBeGreaterThan(0);
    expect(undoing.release.phase).toBe('Adopting');
    // Once the plain pods are ready and listed again, r0 goes and the release ends Aborted.
    c.settle();
    const end = drive(t, c, undoing.release, undoing.workload, undoing.now + 1000, 20);
    expect(c.violations()).toEqual([]);
    expect(end.release.phase).toBe('Aborted');
    expect(c.selectors.api).toEqual({ [name]: 'api' });
    expect(c.revisions[r0]!.desired).toBe(0);
  });

  it('canary without a router: abort at setWeight 100 narrows the stable Service only once stable is ready at full size', () => {
    const t = canaryTarget([{ setWeight: 100 }, { pause: {} }]);
    const c = new Cluster(t);
    const adopted = drive(
      t,
      c,
      pushImage(t, digest('1'), emptyWorkload('api'), 0).release,
      emptyWorkload('api'),
      0,
    );
    expect(adopted.release.phase).toBe('Succeeded');
    const started = pushImage(t, digest('2'), adopted.workload, adopted.now + 1000);
    const paused = drive(t, c, started.release, started.workload, adopted.now + 1000);
    expect(paused.release.phase).toBe('AwaitingPromotion');
    const blue = paused.release.stable!;
    expect(c.revisions[blue.revision]!.desired).toBe(0);

    c.instant = false;
    const aborted = control(t, 'abort', paused.release, paused.workload, paused.now + 1000);
    let r = aborted.release;
    let w = aborted.workload;
    let now = paused.now + 1000;
    for (let i = 0; i < 10; i++) {
      now = Math.max(now, r.wake?.at ?? now);
      ({ release: r, workload: w } = step(t, c, r, w, now));
      const selector = c.selectors.api!;
      // Narrowed to stable: stable's pods must be there to take the traffic.
      if (selector[rev] === blue.revision) expect(c.revisions[blue.revision]!.ready).toBe(3);
    }
    c.settle();
    const end = drive(t, c, r, w, now);
    expect(end.release.phase).toBe('Aborted');
    expect(c.selectors.api?.[rev]).toBe(blue.revision);
    expect(c.violations()).toEqual([]);
  });

  it('a switch whose commit was lost: the record still follows the cluster (stable, previous, HPA)', () => {
    const t = blueGreenTarget();
    const c = new Cluster(t);
    const adopted = drive(
      t,
      c,
      pushImage(t, digest('1'), emptyWorkload('api'), 0).release,
      emptyWorkload('api'),
      0,
    );
    const blue = adopted.workload.stable!;
    const started = pushImage(t, digest('2'), adopted.workload, adopted.now + 1000);
    let r = started.release;
    let w = started.workload;
    let now = adopted.now + 1000;
    for (let i = 0; i < 30 && r.phase !== 'Switching'; i++) {
      now = Math.max(now, r.wake!.at);
      ({ release: r, workload: w } = step(t, c, r, w, now));
    }
    // The pass that switches runs its commands, then dies before its commit: its decision is lost.
    for (let i = 0; i < 10 && c.selectors.api?.[rev] !== r.candidate!.revision; i++) {
      const d = step(t, c, r, w, now);
      if (c.selectors.api?.[rev] !== r.candidate!.revision) ({ release: r, workload: w } = d);
    }
    expect(c.selectors.api?.[rev]).toBe(r.candidate!.revision);
    const lostAt = c.issued.length;
    const end = drive(t, c, r, w, now + 1000);
    expect(end.release.phase).toBe('Succeeded');
    expect(end.workload.stable?.revision).toBe(r.candidate!.revision);
    expect(end.workload.previous[0]?.revision).toBe(blue.revision);
    expect(c.issued.slice(lostAt).map((x) => x.command)).toContainEqual({
      type: 'MoveHpa',
      from: blue.deployment,
      to: r.candidate!.deployment,
    });
  });

  it('a rollback drains green before removing it, after abortScaleDownDelaySeconds', () => {
    const t = blueGreenTarget({ previewService: 'api-preview', postPromotionAnalysis: undefined });
    const c = new Cluster(t);
    c.selectors['api-preview'] = { [name]: 'api' };
    const adopted = drive(
      t,
      c,
      pushImage(t, digest('1'), emptyWorkload('api'), 0).release,
      emptyWorkload('api'),
      0,
    );
    const t2 = blueGreenTarget({ previewService: 'api-preview', autoPromotionEnabled: false });
    const started = pushImage(t2, digest('2'), adopted.workload, adopted.now + 1000);
    const paused = drive(t2, c, started.release, started.workload, adopted.now + 1000);
    expect(paused.release.phase).toBe('AwaitingPromotion');
    const green = paused.release.candidate!;
    // Green goes unready: the preview Service still lists it when the rollback moves it back.
    c.revisions[green.revision]!.progressDeadlineExceeded = true;
    const aborted = control(t2, 'abort', paused.release, paused.workload, paused.now + 1);
    let r = aborted.release;
    let w = aborted.workload;
    let now = paused.now + 1;
    for (let i = 0; i < 10 && r.phase === 'RollingBack'; i++) {
      now = Math.max(now, r.wake?.at ?? now);
      ({ release: r, workload: w } = step(t2, c, r, w, now));
    }
    expect(r.phase).toBe('Aborted');
    const endedAt = now;
    c.lagging['api-preview'] = new Set([green.revision]);
    c.pinLag = true;
    const early = drive(t2, c, r, w, now, 5);
    expect(c.revisions[green.revision]?.desired).toBeGreaterThan(0);
    expect(early.now - endedAt).toBeGreaterThanOrEqual(30_000);
    c.settle();
    c.pinLag = false;
    drive(t2, c, early.release, early.workload, early.now, 5);
    expect(c.revisions[green.revision]?.desired ?? 0).toBe(0);
    expect(c.violations()).toEqual([]);
  });

  it('a revision whose Deployment was changed to run another image is never switched to', () => {
    const t = blueGreenTarget();
    const c = new Cluster(t);
    const adopted = drive(
      t,
      c,
      pushImage(t, digest('1'), emptyWorkload('api'), 0).release,
      emptyWorkload('api'),
      0,
    );
    const started = pushImage(t, digest('2'), adopted.workload, adopted.now + 1000);
    let r = started.release;
    let w = started.workload;
    const now = adopted.now + 1000;
    ({ release: r, workload: w } = step(t, c, r, w, now));
    const green = r.candidate!;
    c.revisions[green.revision]!.images = { api: digest('9') };
    const end = drive(t, c, r, w, now + 1);
    expect(c.selectors.api?.[rev]).toBe(adopted.workload.stable!.revision);
    expect(end.release.phase).toMatch(/RolledBack|Failed/);
    expect(end.release.reason).toMatch(/runs .*@sha256:9+, not .*@sha256:2+/);
  });
});
