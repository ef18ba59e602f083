// Manual control, supersede and bad input, end to end on the local stack.
import { describe, expect, it } from 'vitest';
import { waitFor } from '../../infra/local/process.ts';
import type { PushRecord, RequestRecord } from '../../shared/adapters/store.ts';
import { releaseHarness } from '../support/harness.ts';
import type { Fixture } from '../support/release.ts';

const { start } = releaseHarness();

const revisionLabel = 'switchyard.dev/revision';

async function answer(fx: Fixture, requestId: string): Promise<RequestRecord> {
  return waitFor(
    async () => {
      const snap = await fx.store.requestRef(requestId).get();
      return snap.exists ? (snap.data() as RequestRecord) : undefined;
    },
    { timeoutMs: 30_000, what: `the answer to request ${requestId}` },
  );
}

async function pushRecord(fx: Fixture, messageId: string, target: string): Promise<PushRecord> {
  return waitFor(
    async () => {
      const snap = await fx.store.pushRef(messageId, target).get();
      return snap.exists ? (snap.data() as PushRecord) : undefined;
    },
    { timeoutMs: 30_000, what: `the record of push ${messageId}` },
  );
}

describe('control messages', () => {
  it('abort while AwaitingPromotion: Aborted, green scaled down after abortScaleDownDelaySeconds', async () => {
    const f = await start('ctl-abort', {
      blueGreen: { autoPromotionEnabled: false, abortScaleDownDelaySeconds: 3 },
    });
    await f.push(2);
    const waiting = await f.waitRelease(`${f.name}-1`, (r) => r.phase === 'AwaitingPromotion');
    const requestId = await f.control('abort', { reason: 'preview looks wrong' });
    expect(await answer(f, requestId)).toMatchObject({ outcome: 'applied', releaseId: waiting.id });

    const aborted = await f.waitRelease(waiting.id, (r) => r.phase === 'Aborted');
    const abortedAt = aborted.history.find((h) => h.to === 'Aborted')!.at;
    expect((await f.selector('api'))[revisionLabel]).toBe(waiting.stable!.revision);
    const done = await f.waitRelease(waiting.id);
    expect(done.cleanup).toBeNull();
    // The cleanup scaled green to zero. It is no revision to undo to, so the sweep (every 5 s here)
    // may already have removed it as an old revision: either way it serves nothing.
    expect(done.history.at(-1)!.commands).toEqual([
      `ScaleRevision ${waiting.candidate!.deployment} replicas=0`,
    ]);
    const green = await f.deployment(waiting.candidate!.deployment);
    if (green) expect(green.spec?.replicas).toBe(0);
    const cleanedAt = done.history.at(-1)!.at;
    expect(cleanedAt - abortedAt).toBeGreaterThanOrEqual(3000);
    expect(done.history.find((h) => h.cause === 'abort')).toMatchObject({
      by: 'test@switchyard',
      reason: 'aborted (preview looks wrong)',
    });

    // A second abort is refused with the reason, and recorded in the history.
    const again = await answer(f, await f.control('abort'));
    expect(again).toMatchObject({
      outcome: 'refused',
      code: 'ended',
      reason: `abort: release ${waiting.id} is Aborted`,
    });
  });

  it('undo while v1 is still warm (within scaleDownDelaySeconds): traffic back on v1 within one step', async () => {
    const f = await start('ctl-warm', { blueGreen: { scaleDownDelaySeconds: 120 } });
    await f.push(2);
    const first = await f.waitRelease(`${f.name}-1`, (r) => r.phase === 'ScalingDown');
    const v1 = first.stable!;
    expect((await f.deployment(v1.deployment))?.spec?.replicas).toBe(3);
    const requestId = await f.control('undo', { reason: 'errors in v2' });
    expect(await answer(f, requestId)).toMatchObject({ outcome: 'applied', releaseId: first.id });
    const back = await f.waitRelease(first.id);
    expect(back.phase).toBe('RolledBack');
    expect((await f.selector('api'))[revisionLabel]).toBe(v1.revision);
    // One step: the rollback selected v1 at once, without scaling it (it never lost its replicas).
    const steps = back.history.slice(back.history.findIndex((h) => h.cause === 'undo'));
    const selected = steps.findIndex((h) =>
      (h.commands ?? []).some((c) => c === `SelectRevision api -> ${v1.revision}`),
    );
    expect(selected).toBe(1);
    expect(
      steps.flatMap((h) => h.commands ?? []).filter((c) => c.startsWith(`ScaleRevision ${v1.deployment}`)),
    ).toEqual([]);
    expect((await f.workload()).stable?.revision).toBe(v1.revision);
  });

  it('undo after the release has ended brings the previous revision back through the switch', async () => {
    const f = await start('ctl-undo');
    await f.push(2);
    const first = await f.waitRelease(`${f.name}-1`);
    expect(first.phase).toBe('Succeeded');
    const v1 = first.stable!;
    expect((await f.deployment(v1.deployment))?.spec?.replicas).toBe(0);
    const undo = await answer(f, await f.control('undo'));
    expect(undo.outcome).toBe('applied');
    const back = await f.waitRelease(undo.releaseId!);
    expect(back.phase).toBe('Succeeded');
    expect(back.trigger.kind).toBe('undo');
    expect((await f.selector('api'))[revisionLabel]).toBe(v1.revision);
    expect((await f.deployment(v1.deployment))?.spec?.replicas).toBe(3);
    expect(back.history.map((h) => h.to)).not.toContain('DeployingGreen');
  });

  it('abort after the switch puts traffic back on blue, which never lost its replicas', async () => {
    const f = await start('ctl-post', { blueGreen: { scaleDownDelaySeconds: 120 } });
    await f.push(2);
    const first = await f.waitRelease(`${f.name}-1`, (r) => r.phase === 'ScalingDown');
    const v1 = first.stable!;
    await f.control('abort');
    const rolled = await f.waitRelease(first.id);
    expect(rolled.phase).toBe('Aborted');
    expect((await f.selector('api'))[revisionLabel]).toBe(v1.revision);
    const commands = rolled.history.flatMap((h) => h.commands ?? []);
    expect(commands.filter((c) => c.startsWith(`ScaleRevision ${v1.deployment}`))).toEqual([]);
  });

  it('promote --full skips the rest of the scale-down delay', async () => {
    const f = await start('ctl-full', { blueGreen: { scaleDownDelaySeconds: 120 } });
    await f.push(2);
    const first = await f.waitRelease(`${f.name}-1`, (r) => r.phase === 'ScalingDown');
    expect(await answer(f, await f.control('promote', { full: true }))).toMatchObject({ outcome: 'applied' });
    const done = await f.waitRelease(first.id, undefined, 20_000);
    expect(done.phase).toBe('Succeeded');
    expect((await f.deployment(first.stable!.deployment))?.spec?.replicas).toBe(0);
  });

  it('restart releases the same image as a new revision through the full strategy', async () => {
    const f = await start('ctl-restart');
    await f.push(2);
    const first = await f.waitRelease(`${f.name}-1`);
    expect(first.phase).toBe('Succeeded');
    const requestId = await f.control('restart', { reason: 'ConfigMap changed' });
    const started = await answer(f, requestId);
    expect(started.outcome).toBe('applied');
    const restart = await f.waitRelease(started.releaseId!);
    expect(restart.phase).toBe('Succeeded');
    expect(restart.image).toBe(first.image);
    expect(restart.candidate!.revision).not.toBe(first.candidate!.revision);
    expect(restart.history.map((h) => h.to)).toEqual(
      expect.arrayContaining([
        'DeployingGreen',
        'PrePromotionAnalysis',
        'Switching',
        'ScalingDown',
        'Succeeded',
      ]),
    );
    const d = await f.deployment(restart.candidate!.deployment);
    expect(d?.spec?.template.metadata?.annotations?.['switchyard.dev/restarted-at']).toBeTruthy();
    expect((await f.selector('api'))[revisionLabel]).toBe(restart.candidate!.revision);
  });
});

describe('pause, resume and retry', () => {
  it('pause holds a release before the switch; resume lets it go on', async () => {
    const f = await start('ctl-pause', { preview: true, blueGreen: { autoPromotionSeconds: 2 } });
    await f.push(2);
    const waiting = await f.waitRelease(`${f.name}-1`, (r) => r.phase === 'AwaitingPromotion');
    expect(await answer(f, await f.control('pause'))).toMatchObject({ outcome: 'applied' });
    // Past autoPromotionSeconds the release still waits: the timer found it paused.
    const held = await f.waitRelease(waiting.id, (r) => r.paused && r.history.at(-1)?.cause === 'pause');
    await waitFor(async () => (await f.release(waiting.id))!.updatedAt < Date.now() - 3000, {
      timeoutMs: 10_000,
      what: 'the release to stay untouched past its promotion time',
    });
    const still = (await f.release(waiting.id))!;
    expect(still.phase).toBe('AwaitingPromotion');
    expect(still.seq).toBe(held.seq);
    expect((await f.selector('api'))[revisionLabel]).toBe(waiting.stable!.revision);
    expect(await answer(f, await f.control('pause'))).toMatchObject({ outcome: 'refused' });

    expect(await answer(f, await f.control('resume'))).toMatchObject({ outcome: 'applied' });
    const done = await f.waitRelease(waiting.id);
    expect(done.phase).toBe('Succeeded');
    expect((await f.selector('api'))[revisionLabel]).toBe(waiting.candidate!.revision);
  });

  it('retry starts an aborted release again with the same image', async () => {
    const f = await start('ctl-retry', { blueGreen: { autoPromotionEnabled: false } });
    await f.push(2);
    const first = await f.waitRelease(`${f.name}-1`, (r) => r.phase === 'AwaitingPromotion');
    await f.control('abort');
    await f.waitRelease(first.id);
    const retry = await answer(f, await f.control('retry', { reason: 'flaky dependency fixed' }));
    expect(retry).toMatchObject({ outcome: 'applied', releaseId: `${f.name}-2` });
    const second = await f.waitRelease(retry.releaseId!, (r) => r.phase === 'AwaitingPromotion');
    expect(second.image).toBe(first.image);
    expect(second.trigger).toMatchObject({ kind: 'retry', by: 'test@switchyard' });
    await f.control('promote');
    expect((await f.waitRelease(second.id)).phase).toBe('Succeeded');
    expect((await f.selector('api'))[revisionLabel]).toBe(second.candidate!.revision);
  });
});

describe('supersede', () => {
  it('v3 pushed while v2 waits for promotion: v2 Superseded, its green removed, v3 proceeds', async () => {
    const f = await start('sup', { blueGreen: { autoPromotionEnabled: false } });
    await f.push(2);
    const v2 = await f.waitRelease(`${f.name}-1`, (r) => r.phase === 'AwaitingPromotion');
    await f.push(3);
    const v3 = await f.waitRelease(`${f.name}-2`, (r) => r.phase === 'AwaitingPromotion');
    const old = await f.waitRelease(v2.id);
    expect(old.phase).toBe('Superseded');
    expect(old.reason).toContain(v3.id);
    await waitFor(async () => (await f.deployment(v2.candidate!.deployment)) === null, {
      timeoutMs: 20_000,
      what: `${v2.candidate!.deployment} to be removed`,
    });
    expect(v3.stable!.revision).toBe(v2.stable!.revision);
    expect((await f.deployment(v2.stable!.deployment))?.spec?.replicas).toBe(3);
    await f.control('promote');
    const done = await f.waitRelease(v3.id);
    expect(done.phase).toBe('Succeeded');
    expect((await f.selector('api'))[revisionLabel]).toBe(v3.candidate!.revision);
  });

  it('a push of the digest already stable is a recorded no-op', async () => {
    const f = await start('noop');
    await f.push(2);
    await f.waitRelease(`${f.name}-1`);
    const messageId = await f.push(2, { tag: 'v2-again' });
    const record = await pushRecord(f, messageId, f.name);
    expect(record).toMatchObject({ outcome: 'ignored' });
    expect(record.reason).toMatch(/already stable/);
    expect((await f.workload()).releases).toBe(1);
  });
});

describe('bad input', () => {
  it('records a malformed notification, an unknown repository, an untagged push and a DELETE as ignored, with reasons', async () => {
    const f = await start('bad-in');
    const { testPubSub } = await import('../support/clients.ts');
    const pubsub = testPubSub();
    try {
      const gcr = pubsub.topic('gcr');
      const malformed = await gcr.publishMessage({ data: Buffer.from('{"action":"UPSERT"}') });
      const notJson = await gcr.publishMessage({ data: Buffer.from('not json') });
      const unknown = await gcr.publishMessage({
        json: { action: 'INSERT', digest: `us-docker.pkg.dev/nobody/x/y@sha256:${'e'.repeat(64)}` },
      });
      const untagged = await f.push(5, { tag: null });
      const del = await gcr.publishMessage({ json: { action: 'DELETE', tag: `${f.repository}:v1` } });
      expect((await pushRecord(f, malformed, '-')).reason).toMatch(/malformed notification: action/);
      expect((await pushRecord(f, notJson, '-')).reason).toMatch(/malformed notification/);
      expect((await pushRecord(f, unknown, '-')).reason).toMatch(
        /no target for repository us-docker.pkg.dev\/nobody\/x\/y/,
      );
      expect((await pushRecord(f, untagged, f.name)).reason).toMatch(/untagged push .* ignored/);
      expect((await pushRecord(f, del, '-')).reason).toMatch(/DELETE is not released/);
      expect((await f.workload()).releases).toBe(0);
      expect((await f.deployment('api'))?.spec?.replicas).toBe(3);
    } finally {
      await pubsub.close();
    }
  });

  it('a target naming a missing Service fails with the reason and leaves the cluster serving', async () => {
    const f = await start('bad-svc', { blueGreen: { previewService: 'api-missing' } });
    await f.push(2);
    const r = await f.waitRelease(`${f.name}-1`);
    expect(r.phase).toBe('Failed');
    expect(r.reason).toBe(
      `Service "api-missing" not found in namespace "${f.namespace}": create it or fix the target's blueGreen services`,
    );
    const all = await f.kube.apps.listNamespacedDeployment({ namespace: f.namespace });
    expect(all.items.map((d) => d.metadata?.name)).toEqual(['api']);
    expect((await f.deployment('api'))?.spec?.replicas).toBe(3);
  });

  it('a target in a namespace that does not exist fails with the reason', async () => {
    const f = await start('bad-ns');
    await f.store.db.runTransaction(async (tx) => {
      const ref = f.store.targetRef(f.name);
      const doc = await tx.get(ref);
      tx.update(ref, {
        'spec.namespace': `${f.namespace}-missing`,
        generation: (doc.get('generation') as number) + 1,
      });
    });
    await f.push(2);
    const r = await f.waitRelease(`${f.name}-1`);
    expect(r.phase).toBe('Failed');
    expect(r.reason).toBe(
      `namespace "${f.namespace}-missing" does not exist in the target's cluster: create it (with the workload and its Services) or fix spec.namespace`,
    );
    expect((await f.deployment('api'))?.spec?.replicas).toBe(3);
  });
});
