// SPEC §14's first promise on the real stack: the serving guard refuses, and says so in the history;
// races of control commands with running steps, revisions that are not what their name says, drift,
// and refusals of the API server end as they should, with the invariant checker sampling throughout.
import { describe, expect, it } from 'vitest';
import { waitFor } from '../../infra/local/process.ts';
import {
  deploymentName,
  greenTemplate,
  revisionDeployment,
  revisionOf,
} from '../../shared/kubernetes/revision.ts';
import { releaseHarness } from '../support/harness.ts';

const { start } = releaseHarness();
const revisionLabel = 'switchyard.dev/revision';

describe('what serves is taken down last, on the stack', () => {
  it('a Service pointed back at blue during the scale-down delay is moved off it first; blue goes only once drained', async () => {
    const f = await start('guard', { preview: true, blueGreen: { scaleDownDelaySeconds: 4 } });
    await f.push(2);
    const adopted = await f.waitRelease(`${f.name}-1`);
    expect(adopted.phase).toBe('Succeeded');
    const blue = adopted.candidate!;
    await f.push(3);
    const scaling = await f.waitRelease(`${f.name}-2`, (r) => r.phase === 'ScalingDown');
    // Someone points the preview Service back at blue by hand during the scale-down delay.
    await f.cluster.selectRevision(f.namespace, 'api-preview', 'api', blue.revision);
    const done = await f.waitRelease(`${f.name}-2`);
    expect(done.phase).toBe('Succeeded');
    expect((await f.selector('api-preview'))[revisionLabel]).toBe(scaling.candidate!.revision);
    expect(
      done.history.some((h) => (h.commands ?? []).some((c) => c.startsWith('SelectRevision api-preview'))),
    ).toBe(true);
    expect((await f.deployment(blue.deployment))?.spec?.replicas).toBe(0);
  });

  it('aborts and promotes fired at a release while it switches: it ends consistently and nothing serving is scaled down', async () => {
    const f = await start('race', { blueGreen: { autoPromotionEnabled: false } });
    await f.push(2);
    await f.waitRelease(`${f.name}-1`, (r) => r.phase === 'AwaitingPromotion');
    await f.control('promote');
    expect((await f.waitRelease(`${f.name}-1`)).phase).toBe('Succeeded');
    await f.push(3);
    const waiting = await f.waitRelease(`${f.name}-2`, (r) => r.phase === 'AwaitingPromotion');
    await f.control('promote');
    // Aborts while the switch runs, and more after.
    await Promise.all(Array.from({ length: 6 }, () => f.control('abort')));
    const end = await f.waitRelease(`${f.name}-2`);
    const serving = (await f.selector('api'))[revisionLabel];
    if (end.phase === 'Aborted') expect(serving).toBe(waiting.stable!.revision);
    else expect(end.phase).toBe('Succeeded');
    const servingDeployment = await f.deployment(deploymentName('api', serving!));
    expect(servingDeployment?.spec?.replicas).toBe(3);
    expect((await f.workload()).stable?.revision).toBe(serving);
  });

  it('undos fired at a release while it switches, and once it has switched: every release ends, and what serves is what the answers say', async () => {
    const f = await start('undo-race', {
      blueGreen: { autoPromotionEnabled: false, scaleDownDelaySeconds: 2 },
    });
    await f.push(2);
    await f.waitRelease(`${f.name}-1`, (r) => r.phase === 'AwaitingPromotion');
    await f.control('promote');
    expect((await f.waitRelease(`${f.name}-1`)).phase).toBe('Succeeded');
    await f.push(3);
    const waiting = await f.waitRelease(`${f.name}-2`, (r) => r.phase === 'AwaitingPromotion');
    await f.control('promote');
    const undos = () => Promise.all(Array.from({ length: 3 }, () => f.control('undo')));
    // Undos as the switch step starts (they race its claim, or wait for it), and more once the
    // switch is written, while blue is still warm.
    await f.waitRelease(waiting.id, (r) => r.phase !== 'AwaitingPromotion');
    const first = await undos();
    await f.waitRelease(waiting.id, (r) => r.switchedAt !== null);
    const second = await undos();
    const answers = await Promise.all([...first, ...second].map((id) => f.answer(id)));
    for (const a of answers) expect(['applied', 'refused']).toContain(a.outcome);
    // Once the switch is written, the first undo that finds no rollback under way is applied.
    const applied = answers.filter((a) => a.outcome === 'applied').length;
    expect(applied).toBeGreaterThan(0);
    // Every answer is in: no release starts any more. Each one ends, its cleanup done.
    const releases = await f.store.releasesOf(f.name);
    const ended = await Promise.all(releases.map((r) => f.waitRelease(r.id)));
    expect(ended.map((r) => r.phase).filter((p) => !['Succeeded', 'RolledBack'].includes(p))).toEqual([]);
    // Each applied undo started a release back to the revision before the stable one, or rolled
    // back a switched release to its blue.
    for (const a of answers.filter((x) => x.outcome === 'applied')) {
      const r = ended.find((x) => x.id === a.releaseId)!;
      if ('requestId' in r.trigger && r.trigger.requestId === a.requestId) expect(r.undoTo).toBeTruthy();
      else expect(r.history.filter((h) => h.cause === 'undo').map((h) => h.to)).toContain('RollingBack');
    }
    // What serves is what the release that ended last says, and the records agree.
    const last = ended[0]!;
    expect(last.number).toBe(Math.max(...ended.map((r) => r.number)));
    const serving = (await f.selector('api'))[revisionLabel];
    expect(serving).toBe(last.phase === 'Succeeded' ? last.candidate!.revision : last.stable!.revision);
    const workload = await f.workload();
    expect(workload.inFlight).toBeNull();
    expect(workload.stable?.revision).toBe(serving);
    expect((await f.deployment(deploymentName('api', serving!)))?.spec?.replicas).toBe(3);
    // Every other revision the releases made or kept is scaled to zero (or already removed).
    for (const rev of ended.flatMap((r) => [r.stable, r.candidate])) {
      if (!rev || rev.revision === serving) continue;
      const d = await f.deployment(rev.deployment);
      if (d) expect(d.spec?.replicas, rev.deployment).toBe(0);
    }
  });
});

describe('what the cluster says, and what it does not', () => {
  it("a Deployment under the new revision's name whose template is not that revision is never switched to", async () => {
    const f = await start('tampered');
    await f.push(2);
    const adopted = await f.waitRelease(`${f.name}-1`);
    const blue = adopted.candidate!;
    const blueDeployment = await f.deployment(blue.deployment);
    // What Switchyard would create for v3, but with another image in it: made by hand beforehand.
    const template = greenTemplate(blueDeployment!.spec!.template!, f.image(3), undefined, f.repository);
    const revision = revisionOf(template);
    const forged = revisionDeployment({
      namespace: f.namespace,
      workload: 'api',
      revision,
      template: greenTemplate(template, f.image(4), undefined, f.repository),
      replicas: 3,
      progressDeadlineSeconds: 60,
      releaseId: 'by-hand',
      target: f.name,
    });
    await f.kube.apps.createNamespacedDeployment({ namespace: f.namespace, body: forged });
    await f.push(3);
    const end = await f.waitRelease(`${f.name}-2`);
    expect(['Failed', 'RolledBack']).toContain(end.phase);
    expect(end.reason).toMatch(/its pod template is not that revision's/);
    expect((await f.selector('api'))[revisionLabel]).toBe(blue.revision);
    expect((await f.deployment(blue.deployment))?.spec?.replicas).toBe(3);
  });

  it('pods refused by a ResourceQuota: the reason names what the API server said', async () => {
    const f = await start('quota', { progressDeadlineSeconds: 8 });
    await f.push(2);
    expect((await f.waitRelease(`${f.name}-1`)).phase).toBe('Succeeded');
    await f.kube.core.createNamespacedResourceQuota({
      namespace: f.namespace,
      body: { metadata: { name: 'pods' }, spec: { hard: { pods: '4' } } },
    });
    await waitFor(
      async () =>
        (await f.kube.core.readNamespacedResourceQuota({ name: 'pods', namespace: f.namespace })).status?.used
          ?.pods !== undefined,
      { timeoutMs: 30_000, what: 'the quota to be counted' },
    );
    await f.push(3);
    const end = await f.waitRelease(`${f.name}-2`);
    expect(end.phase).toBe('RolledBack');
    expect(end.reason).toMatch(/exceeded quota/);
    expect((await f.selector('api'))[revisionLabel]).toBe(end.stable!.revision);
  });

  it('the active Service pointed elsewhere by hand before the switch: drift is recorded and nothing switches', async () => {
    const f = await start('drift', { blueGreen: { autoPromotionEnabled: false } });
    await f.push(2);
    await f.waitRelease(`${f.name}-1`, (r) => r.phase === 'AwaitingPromotion');
    await f.control('promote');
    const adopted = await f.waitRelease(`${f.name}-1`);
    await f.push(3);
    const waiting = await f.waitRelease(`${f.name}-2`, (r) => r.phase === 'AwaitingPromotion');
    // Someone brings the first revision r0 back by hand and points the Service at it.
    const r0 = adopted.stable!;
    await f.kube.apps.patchNamespacedDeployment({
      name: r0.deployment,
      namespace: f.namespace,
      body: [{ op: 'replace', path: '/spec/replicas', value: 3 }],
    });
    await waitFor(async () => ((await f.deployment(r0.deployment))?.status?.readyReplicas ?? 0) === 3, {
      timeoutMs: 30_000,
      what: 'r0 to be back by hand',
    });
    await f.cluster.selectRevision(f.namespace, 'api', 'api', r0.revision);
    await f.control('promote');
    const end = await f.waitRelease(`${f.name}-2`);
    expect(end.phase).toBe('Failed');
    expect(end.reason).toMatch(new RegExp(`^drift: Service "api" selects revision ${r0.revision}`));
    expect((await f.selector('api'))[revisionLabel]).toBe(r0.revision);
    expect((await f.deployment(adopted.candidate!.deployment))?.spec?.replicas).toBe(3);
    expect(await f.deployment(waiting.candidate!.deployment)).not.toBeNull();
  });
});
