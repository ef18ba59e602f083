// Parts of the stack die under a release, and the release still ends as it should, with the
// invariant checker sampling throughout: the Pub/Sub emulator (everything it held is lost: topics,
// subscriptions, messages in flight) and the Kubernetes API server (restarted on its etcd data).
// Restarting either would break every other test file running beside this one, so this file has a
// stack of its own (test/support/private-stack.ts), repaired after each fault as a developer would
// (`switchyard dev up`). Messages the emulator lost are recovered by the sweep, which re-publishes
// a step that is overdue.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { waitFor } from '../../infra/local/process.ts';
import type { Release } from '../../shared/engine/release.ts';
import type { StepMessage } from '../../shared/messages.ts';
import { topology } from '../../shared/topology.ts';
import { releaseHarness } from '../support/harness.ts';
import { type PrivateStack, privateStack } from '../support/private-stack.ts';
import type { Fixture } from '../support/release.ts';

const own: PrivateStack = privateStack('faults');
beforeAll(() => own.start(), 240_000);
afterAll(() => own.stop(), 120_000);

const { start } = releaseHarness({ requireSamples: true, stack: () => own.info() });
const revisionLabel = 'switchyard.dev/revision';

/** Kills the Pub/Sub emulator and runs `dev up`: it starts empty, and the topology is recreated. */
async function restartPubSub(): Promise<void> {
  const before = own.recorded().pubsub!;
  await own.killPubSub();
  const status = await own.repair();
  expect(status.parts).toMatchObject({ pubsub: { state: 'running' }, functions: { state: 'running' } });
  expect(own.recorded().pubsub!.pid).not.toBe(before.pid);
}

/** How many times the sweep re-published an overdue step of `releaseId` so far. */
function republished(releaseId: string): number {
  return own
    .functionLog('sweep')
    .filter((l) => l.includes('re-publishing an overdue step') && l.includes(`"releaseId":"${releaseId}"`))
    .length;
}

/** A pull subscription of our own on a topic, to see what is published on it (REST of the emulator). */
async function tap(topic: string): Promise<() => Promise<StepMessage[]>> {
  const { projectId, pubsubEmulatorHost } = own.info();
  const base = `http://${pubsubEmulatorHost}/v1/projects/${projectId}`;
  const name = `${topic}-tap-${Date.now().toString(36)}`;
  const res = await fetch(`${base}/subscriptions/${name}`, {
    method: 'PUT',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ topic: `projects/${projectId}/topics/${topic}` }),
  });
  expect(res.status, await res.text()).toBe(200);
  const seen: StepMessage[] = [];
  return async () => {
    const pulled = await fetch(`${base}/subscriptions/${name}:pull`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ maxMessages: 100, returnImmediately: true }),
    });
    const body = (await pulled.json()) as { receivedMessages?: { message: { data: string } }[] };
    for (const m of body.receivedMessages ?? []) {
      seen.push(JSON.parse(Buffer.from(m.message.data, 'base64').toString('utf8')) as StepMessage);
    }
    return seen;
  };
}

/** The release has ended Succeeded on green, green at full size, blue scaled to zero. */
async function expectSucceededOnGreen(f: Fixture, done: Release, replicas = 3): Promise<void> {
  expect(done.phase).toBe('Succeeded');
  expect((await f.selector('api'))[revisionLabel]).toBe(done.candidate!.revision);
  expect((await f.workload()).stable?.revision).toBe(done.candidate!.revision);
  expect((await f.deployment(done.candidate!.deployment))?.spec?.replicas).toBe(replicas);
  expect((await f.deployment(done.stable!.deployment))?.spec?.replicas).toBe(0);
}

describe('the Pub/Sub emulator restarted under a release', () => {
  it('blue-green awaiting promotion: up recreates the topology, and the promote goes through', async () => {
    const f = await start('ps-wait', { blueGreen: { autoPromotionEnabled: false } });
    await f.push(2);
    const waiting = await f.waitRelease(`${f.name}-1`, (r) => r.phase === 'AwaitingPromotion');
    await restartPubSub();
    const promote = await f.control('promote');
    expect(await f.answer(promote)).toMatchObject({ outcome: 'applied', releaseId: waiting.id });
    await expectSucceededOnGreen(f, await f.waitRelease(waiting.id));
  });

  it('canary between weight steps: the pause outlives the emulator, and the steps go on', async () => {
    const f = await start('ps-can', {
      replicas: 4,
      canary: { steps: [{ setWeight: 25 }, { pause: { duration: 4 } }, { setWeight: 50 }, { pause: {} }] },
    });
    await f.push(2);
    const id = `${f.name}-1`;
    // Weight 25 is in force and the timed pause runs: its function waits to hand over the next look
    // and publishes it into a dead or empty emulator. Either its client's retries reach the
    // restored topic, or the sweep re-publishes the look once it is overdue (past the horizon of
    // the looks a function hands over itself: about 30 s after the last commit here).
    const pausing = await f.waitRelease(id, (r) => r.phase === 'Progressing' && r.canary?.step === 1);
    expect(pausing.canary?.weight).toBe(25);
    await restartPubSub();
    const paused = await f.waitRelease(id, (r) => r.phase === 'AwaitingPromotion', 90_000);
    expect(paused.canary?.weight).toBe(50);
    expect(paused.canary?.step).toBe(3);
    await f.control('promote');
    await expectSucceededOnGreen(f, await f.waitRelease(id), 4);
  });

  it("a step's message lost with the emulator: the sweep re-publishes the overdue step, and the switch happens", async () => {
    const f = await start('ps-lost', { blueGreen: { autoPromotionEnabled: false } });
    await f.push(2);
    const waiting = await f.waitRelease(`${f.name}-1`, (r) => r.phase === 'AwaitingPromotion');
    // The switch function is down, so the promote's hand-over waits undelivered in the emulator.
    const published = await tap(topology().stepTopic.switch);
    await own.killFunction('switch');
    await f.control('promote');
    await waitFor(
      async () => (await published()).some((m) => m.releaseId === waiting.id && m.step === 'switch'),
      { timeoutMs: 30_000, what: 'the switch step of the promoted release to be published' },
    );
    expect((await f.release(waiting.id))?.phase).toBe('Switching');
    const before = republished(waiting.id);
    // The emulator dies with the message; up brings it back empty and the switch function with it.
    await restartPubSub();
    const done = await f.waitRelease(waiting.id);
    await expectSucceededOnGreen(f, done);
    expect(republished(waiting.id)).toBeGreaterThan(before);
  });
});

describe('the Kubernetes API server restarted under a release', () => {
  /** Lines of the step functions saying a step of `releaseId` failed and is to be retried. */
  const failedSteps = (releaseId: string) =>
    (['switch', 'scale-down'] as const).flatMap((name) =>
      own
        .functionLog(name)
        .filter((l) => l.includes('failed, will be retried') && l.includes(`"releaseId":"${releaseId}"`)),
    );

  /**
   * Kills the API server, waits until a step of the release has run against the dead server (and
   * failed, to be retried), then runs `dev up`, which restarts it on its etcd data where it was.
   */
  async function restartApiServerUnder(f: Fixture, releaseId: string): Promise<void> {
    const address = own.recorded().kubernetes!.apiServer;
    const failed = failedSteps(releaseId).length;
    await own.killApiServer();
    await waitFor(() => failedSteps(releaseId).length > failed, {
      timeoutMs: 30_000,
      what: `a step of ${releaseId} to fail against the dead API server`,
    });
    const status = await own.repair();
    expect(status.parts).toMatchObject({ kubernetes: { state: 'running' }, functions: { state: 'running' } });
    // Nobody took its port meanwhile: it came back where it was, so the fixture's clients reach it.
    expect(own.recorded().kubernetes!.apiServer).toBe(address);
    expect(f.kube.kubeConfig.getCurrentCluster()?.server).toBe(address);
  }

  /** Succeeded on green, and blue's scale-down came after the switch in the release's own record. */
  async function expectSwitchedThenScaledDown(f: Fixture, done: Release): Promise<void> {
    await expectSucceededOnGreen(f, done);
    const commands = done.history.flatMap((h) => h.commands ?? []);
    const switched = commands.indexOf(`SelectRevision api -> ${done.candidate!.revision}`);
    const scaledDown = commands.indexOf(`ScaleRevision ${done.stable!.deployment} replicas=0`);
    expect(switched, JSON.stringify(commands)).toBeGreaterThanOrEqual(0);
    expect(scaledDown, JSON.stringify(commands)).toBeGreaterThan(switched);
  }

  it('killed right after a promote is sent: the switch runs against no API server, then succeeds once up restarted it', async () => {
    const f = await start('kube-promote', { blueGreen: { autoPromotionEnabled: false } });
    await f.push(2);
    const waiting = await f.waitRelease(`${f.name}-1`, (r) => r.phase === 'AwaitingPromotion');
    await f.control('promote');
    await restartApiServerUnder(f, waiting.id);
    await expectSwitchedThenScaledDown(f, await f.waitRelease(waiting.id));
  });

  it('killed once the switch is written, before blue is scaled down: Succeeded, blue scaled down only after', async () => {
    const f = await start('kube-switched', {
      blueGreen: { autoPromotionEnabled: false, scaleDownDelaySeconds: 3 },
    });
    await f.push(2);
    const waiting = await f.waitRelease(`${f.name}-1`, (r) => r.phase === 'AwaitingPromotion');
    await f.control('promote');
    const switched = await f.waitRelease(waiting.id, (r) => r.switchedAt !== null);
    expect(['Switching', 'ScalingDown']).toContain(switched.phase);
    await restartApiServerUnder(f, waiting.id);
    await expectSwitchedThenScaledDown(f, await f.waitRelease(waiting.id));
  });
});
