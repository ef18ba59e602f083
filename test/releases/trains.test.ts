// Release trains on the stack (SPEC §10): a target that depends on another switches its release of
// a version only after the dependency's release of that version has switched, whatever order the
// pushes came in, and is aborted before it takes traffic when the dependency's release fails. The
// invariant checker samples every member's active Service throughout.
import { describe, expect, it } from 'vitest';
import { LocalStack } from '../../infra/local/stack.ts';
import type { Release } from '../../shared/engine/release.ts';
import { trainBackstopMs } from '../../shared/engine/trains.ts';
import { TargetStore } from '../../shared/target/store.ts';
import { validateReleaseTarget } from '../../shared/target/validate.ts';
import { watchedMembers } from '../support/members.ts';
import { stack, uniqueId } from '../support/stack.ts';

const revisionLabel = 'switchyard.dev/revision';
/** Every member is watched by the invariant checker while its test runs. */
const member = watchedMembers();

/** When the release entered `phase` first, from its history. */
const entered = (r: Release, phase: string) => r.history.find((h) => h.to === phase)?.at;

describe('release trains', () => {
  it('a dependent pushed first waits with its candidate up, and switches only after its dependency switched', async () => {
    const backend = await member('tr-be');
    const bff = await member('tr-bff', { dependsOn: [backend.name] });
    await bff.push(2);
    const waiting = await bff.waitRelease(`${bff.name}-1`, (r) => r.phase === 'AwaitingDependencies');
    expect(waiting.reason).toContain(`a release of ${backend.name}`);
    expect(waiting.reason).toContain('release train v2');
    // Its candidate is deployed meanwhile, and traffic has not moved.
    expect((await bff.deployment(waiting.candidate!.deployment))?.status?.readyReplicas).toBe(3);
    expect((await bff.selector('api'))[revisionLabel]).toBe(waiting.stable!.revision);

    const lastPush = Date.now();
    await backend.push(2);
    const be = await backend.waitRelease(`${backend.name}-1`);
    const dependent = await bff.waitRelease(`${bff.name}-1`);
    // The train's time, shown for the record (npm run bench measures releases): last push -> last switch.
    console.info(
      `release train: push of the last member -> ${backend.name} switched ${be.switchedAt! - lastPush} ms, -> ${bff.name} (the last) switched ${dependent.switchedAt! - lastPush} ms`,
    );
    expect(be.phase).toBe('Succeeded');
    expect(dependent.phase).toBe('Succeeded');
    expect(dependent.switchedAt).toBeGreaterThan(be.switchedAt!);
    // Its checks (PrePromotionAnalysis) came after the dependency's switch, not before.
    expect(entered(dependent, 'PrePromotionAnalysis')!).toBeGreaterThanOrEqual(be.switchedAt!);
    // Woken by the dependency as it went on to ScalingDown, not by its own slow look (the backstop).
    const woken = entered(dependent, 'PrePromotionAnalysis')! - entered(be, 'ScalingDown')!;
    expect(woken).toBeLessThan(trainBackstopMs);
    expect((await bff.selector('api'))[revisionLabel]).toBe(dependent.candidate!.revision);
  });

  it("a dependency whose release of the version fails aborts the dependent's before it takes traffic, naming why", async () => {
    const backend = await member('tr-bad', { progressDeadlineSeconds: 6 });
    const bff = await member('tr-dep', { dependsOn: [backend.name] });
    // An image whose pods never pass readiness: the backend's release rolls back.
    await backend.push('bad0');
    await bff.push(2, { tag: 'vbad0' });
    const be = await backend.waitRelease(`${backend.name}-1`);
    expect(be.phase).toBe('RolledBack');
    const dependent = await bff.waitRelease(`${bff.name}-1`);
    expect(dependent.phase).toBe('Aborted');
    // Aborted as soon as the dependency goes back, while it is RollingBack or once RolledBack.
    expect(dependent.reason).toMatch(new RegExp(`^aborted: dependency ${be.id} Roll(ing|ed)Back: `));
    expect(dependent.switchedAt).toBeNull();
    expect((await bff.selector('api'))[revisionLabel]).toBe(dependent.stable!.revision);
  });

  it('a dependency aborted by a human aborts the dependent, naming it; a superseded one too', async () => {
    const manual = { blueGreen: { autoPromotionEnabled: false } };
    const backend = await member('tr-gate', manual);
    const bff = await member('tr-gated', { dependsOn: [backend.name] });
    await bff.push(2);
    await backend.push(2);
    await backend.waitRelease(`${backend.name}-1`, (r) => r.phase === 'AwaitingPromotion');
    await backend.answer(await backend.control('abort', { reason: 'not today' }));
    const aborted = await backend.waitRelease(`${backend.name}-1`);
    expect(aborted.phase).toBe('Aborted');
    const first = await bff.waitRelease(`${bff.name}-1`);
    expect(first.phase).toBe('Aborted');
    expect(first.reason).toMatch(new RegExp(`^aborted: dependency ${aborted.id} (Aborted|RollingBack): `));
    expect(first.switchedAt).toBeNull();

    // v3 of the backend waits for promote; v4 supersedes it, and the bff's v3 goes with it.
    await bff.push(3);
    await backend.push(3);
    await backend.waitRelease(`${backend.name}-2`, (r) => r.phase === 'AwaitingPromotion');
    await backend.push(4);
    const superseded = await backend.waitRelease(`${backend.name}-2`);
    expect(superseded.phase).toBe('Superseded');
    const second = await bff.waitRelease(`${bff.name}-2`);
    expect(second.phase).toBe('Aborted');
    expect(second.reason).toMatch(new RegExp(`^aborted: dependency ${superseded.id} Superseded`));
    expect((await bff.selector('api'))[revisionLabel]).toBe(second.stable!.revision);
  });

  it('a train of canaries: the dependent starts its first weight step only once its dependency switched', async () => {
    const canary = { canary: { steps: [{ setWeight: 50 }, { pause: { duration: '1s' } }] }, replicas: 2 };
    const backend = await member('tr-cbe', canary);
    const bff = await member('tr-cbff', { ...canary, dependsOn: [backend.name] });
    await bff.push(2);
    const waiting = await bff.waitRelease(`${bff.name}-1`, (r) => r.phase === 'AwaitingDependencies');
    expect(waiting.canary?.inForce ?? null).toBeNull();
    await backend.push(2);
    const be = await backend.waitRelease(`${backend.name}-1`);
    const dependent = await bff.waitRelease(`${bff.name}-1`);
    expect([be.phase, dependent.phase]).toEqual(['Succeeded', 'Succeeded']);
    // Its first weight step (Progressing) came after the dependency's switch.
    expect(entered(dependent, 'Progressing')!).toBeGreaterThanOrEqual(be.switchedAt!);
    expect(dependent.switchedAt!).toBeGreaterThan(be.switchedAt!);
    expect((await bff.selector('api'))[revisionLabel]).toBe(dependent.candidate!.revision);
  });

  it('a dependency without a release of the version is waited for dependsOnWaitSeconds, then taken as unchanged', async () => {
    const backend = await member('tr-still');
    const bff = await member('tr-alone', { dependsOn: [backend.name] });
    // The wait is short here; the default is 300 s.
    const stored = await new TargetStore(bff.db).get(bff.name);
    const doc = structuredClone(stored!.target) as unknown as { spec: Record<string, unknown> };
    doc.spec.dependsOnWaitSeconds = 10;
    const checked = validateReleaseTarget(doc, 0);
    if ('errors' in checked) throw new Error(JSON.stringify(checked.errors));
    await new TargetStore(bff.db).apply([checked.target], 'test');
    await bff.push(2);
    // Not waited for live: on a loaded machine the candidate may take the whole wait to get ready.
    const done = await bff.waitRelease(`${bff.name}-1`);
    expect(done.phase).toBe('Succeeded');
    expect(done.switchedAt! - done.createdAt).toBeGreaterThanOrEqual(10_000);
    const waited = done.history.find((h) => h.to === 'AwaitingDependencies');
    if (waited) expect(waited.reason).toContain(`a release of ${backend.name}`);
  });

  it('rollbackTrain: a dependent whose post-promotion analysis fails sends the train back in reverse order, by traffic switches', async () => {
    // The frontend's error rate is 30%: its post-promotion analysis fails after it switched.
    const job = uniqueId('train').replaceAll('-', '_');
    await new LocalStack({ stateDir: stack().stateDir }).backfillPrometheus(failingSeries(job));
    const backend = await member('rt-be', { blueGreen: { scaleDownDelaySeconds: 0 } });
    const bff = await member('rt-bff', {
      dependsOn: [backend.name],
      blueGreen: { scaleDownDelaySeconds: 0 },
    });
    const frontend = await member('rt-fe', {
      dependsOn: [bff.name],
      rollbackTrain: true,
      analysis: { templates: [errorRate(job)] },
      blueGreen: { postPromotionAnalysis: { templates: [{ templateName: 'errors' }] } },
    });
    // Pushed in reverse order: the frontend first.
    await frontend.push(2);
    await bff.push(2);
    await backend.push(2);
    const fe = await frontend.waitRelease(`${frontend.name}-1`);
    const bf = await bff.waitRelease(`${bff.name}-1`);
    const be = await backend.waitRelease(`${backend.name}-1`);
    expect(fe.phase).toBe('RolledBack');
    expect(fe.reason).toMatch(/post-promotion analysis failed/);
    expect([bf.phase, be.phase]).toEqual(['RolledBack', 'RolledBack']);
    expect(bf.trainRollback).toBe(fe.id);
    expect(be.trainRollback).toBe(bf.id);
    expect(be.reason).toMatch(new RegExp(`^release train v2 rolled back: ${bf.id} RolledBack: `));
    // Switched in order, went back in reverse order.
    expect(be.switchedAt!).toBeLessThan(bf.switchedAt!);
    expect(bf.switchedAt!).toBeLessThan(fe.switchedAt!);
    const back = (r: Release) => r.history.find((h) => h.to === 'RollingBack')!.at;
    expect(back(fe)).toBeLessThan(back(bf));
    expect(back(bf)).toBeLessThan(back(be));
    for (const [f, r] of [
      [backend, be],
      [bff, bf],
      [frontend, fe],
    ] as const) {
      expect((await f.selector('api'))[revisionLabel]).toBe(r.stable!.revision);
      // The old revision was kept warm: never scaled down, so going back was a traffic switch.
      const commands = r.history.flatMap((h) => h.commands ?? []);
      expect(commands.filter((c) => c.startsWith(`ScaleRevision ${r.stable!.deployment}`))).toEqual([]);
    }
  });

  it('a version read from a capture group of tagFilter puts differently tagged pushes in one train', async () => {
    const backend = await member('vg-be', { tagFilter: '^backend-(\\d+)$', versionGroup: 1 });
    const bff = await member('vg-bff', {
      dependsOn: [backend.name],
      tagFilter: '^bff-(?P<version>\\d+)$',
      versionGroup: 'version',
    });
    await bff.push(2, { tag: 'bff-7' });
    const waiting = await bff.waitRelease(`${bff.name}-1`, (r) => r.phase === 'AwaitingDependencies');
    expect(waiting.version).toBe('7');
    expect(waiting.reason).toContain('release train 7');
    await backend.push(2, { tag: 'backend-7' });
    const be = await backend.waitRelease(`${backend.name}-1`);
    const dependent = await bff.waitRelease(`${bff.name}-1`);
    expect([be.version, be.phase, dependent.phase]).toEqual(['7', 'Succeeded', 'Succeeded']);
    expect(dependent.switchedAt).toBeGreaterThan(be.switchedAt!);
    // Releases a push or a control command starts say they are in a train (their transitions wake it).
    expect([be.inTrain, dependent.inTrain]).toEqual([true, true]);
    const restart = await backend.answer(await backend.control('restart', { reason: 'new pods' }));
    expect(restart.outcome).toBe('applied');
    expect((await backend.waitRelease(restart.releaseId!)).inTrain).toBe(true);
  });
});

/** Error-ratio series of a job at 30% errors, sampled every 15 s over the last 5 minutes. */
function failingSeries(job: string): string {
  const now = Math.floor(Date.now() / 1000);
  const lines = ['# TYPE http_requests counter'];
  for (let i = 20; i >= 0; i--) {
    const t = now - 15 * i;
    const n = 20 - i;
    lines.push(`http_requests_total{job="${job}",code="500"} ${30 * n} ${t}`);
    lines.push(`http_requests_total{job="${job}",code="200"} ${70 * n} ${t}`);
  }
  return lines.join('\n');
}

function errorRate(job: string) {
  const query = `sum(rate(http_requests_total{job="${job}",code="500"}[1m])) / sum(rate(http_requests_total{job="${job}"}[1m]))`;
  return {
    name: 'errors',
    metrics: [
      {
        name: 'error-rate',
        count: 2,
        interval: '1s',
        successCondition: 'result[0] < 0.05',
        provider: { prometheus: { address: stack().prometheusUrl, query } },
      },
    ],
  };
}
