// Blue-green releases end to end: pushes go through the Pub/Sub emulator to the functions running in
// functions-framework processes, state lives in the Firestore emulator, objects in the local cluster.
import { describe, expect, it } from 'vitest';
import type { Release } from '../../shared/engine/release.ts';
import { releaseHarness } from '../support/harness.ts';

const { start } = releaseHarness({ requireSamples: true });

const revisionLabel = 'switchyard.dev/revision';
const phaseTimes = (r: Release) => Object.fromEntries(r.history.map((h) => [h.to, h.at]));

describe('blue-green releases on the local stack', () => {
  it('adopts a plain Deployment, then releases v2: auto-promoted, v1 scaled to zero after the delay and kept', async () => {
    const f = await start('bg-adopt', { blueGreen: { scaleDownDelaySeconds: 2 } });
    await f.push(2);
    const release = await f.waitRelease(`${f.name}-1`);

    expect(release.phase).toBe('Succeeded');
    const green = release.candidate!;
    const blue = release.stable!;
    expect(green.image).toBe(f.image(2));
    expect((await f.selector('api'))[revisionLabel]).toBe(green.revision);
    // v1 became a revision of its own (adoption), scaled to zero after the delay, and kept for undo.
    expect(blue.image).toBe(f.image(1));
    const v1 = await f.deployment(blue.deployment);
    expect(v1?.spec?.replicas).toBe(0);
    const t = phaseTimes(release);
    expect(t.Succeeded! - release.switchedAt!).toBeGreaterThanOrEqual(2000);
    // The original Deployment is scaled to zero and kept.
    const plain = await f.deployment('api');
    expect(plain?.spec?.replicas).toBe(0);
    expect(plain?.metadata?.annotations?.['switchyard.dev/adopted-replicas']).toBe('3');
    expect((await f.deployment(green.deployment))?.status?.readyReplicas).toBe(3);
    const workload = await f.workload();
    expect(workload.stable?.revision).toBe(green.revision);
    expect(workload.previous[0]?.revision).toBe(blue.revision);
    expect(workload.inFlight).toBeNull();
  });

  it('waits in AwaitingPromotion with the preview Service on green, then promote scales green up and switches', async () => {
    const f = await start('bg-promote', {
      preview: true,
      blueGreen: { autoPromotionEnabled: false, previewReplicaCount: 1 },
    });
    await f.push(2);
    const waiting = await f.waitRelease(`${f.name}-1`, (r) => r.phase === 'AwaitingPromotion');
    const green = waiting.candidate!;
    expect((await f.selector('api-preview'))[revisionLabel]).toBe(green.revision);
    expect((await f.selector('api'))[revisionLabel]).toBe(waiting.stable!.revision);
    expect((await f.deployment(green.deployment))?.spec?.replicas).toBe(1);
    const preview = await f.cluster.endpoints(f.namespace, 'api-preview');
    expect(preview.readyByRevision[green.revision]).toBe(1);

    await f.control('promote');
    const done = await f.waitRelease(waiting.id);
    expect(done.phase).toBe('Succeeded');
    expect((await f.deployment(green.deployment))?.spec?.replicas).toBe(3);
    expect((await f.selector('api'))[revisionLabel]).toBe(green.revision);
    const promote = done.history.find((h) => h.cause === 'promote');
    expect(promote).toMatchObject({ from: 'AwaitingPromotion', to: 'Switching', by: 'test@switchyard' });
  });

  it('promotes itself after autoPromotionSeconds', async () => {
    const f = await start('bg-auto', { blueGreen: { autoPromotionSeconds: 3 } });
    await f.push(2);
    const done = await f.waitRelease(`${f.name}-1`);
    expect(done.phase).toBe('Succeeded');
    const t = phaseTimes(done);
    expect(t.Switching! - t.AwaitingPromotion!).toBeGreaterThanOrEqual(3000);
    expect(done.history.find((h) => h.to === 'Switching')?.cause).toBe('timer');
  });

  it('rolls back when green never becomes ready: blue keeps the traffic and all its replicas', async () => {
    const f = await start('bg-never', { progressDeadlineSeconds: 6 });
    await f.push(2);
    const first = await f.waitRelease(`${f.name}-1`);
    expect(first.phase).toBe('Succeeded');
    const blue = first.candidate!;

    // An image whose pods never pass readiness (see neverReadyDigestPrefix).
    await f.push('bad0');
    const second = await f.waitRelease(`${f.name}-2`);
    expect(second.phase).toBe('RolledBack');
    expect(second.reason).toMatch(/did not become ready within 6 s/);
    expect((await f.selector('api'))[revisionLabel]).toBe(blue.revision);
    expect((await f.deployment(blue.deployment))?.spec?.replicas).toBe(3);
    expect(await f.deployment(second.candidate!.deployment)).toBeNull();
    expect((await f.workload()).stable?.revision).toBe(blue.revision);
  });
});
