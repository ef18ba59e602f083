// At-least-once delivery, crashes, lost messages and timers: the release still ends as it should,
// and nothing is done twice.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { FunctionsState } from '../../infra/local/components/functions.ts';
import { isAlive, waitFor } from '../../infra/local/process.ts';
import { LocalStack } from '../../infra/local/stack.ts';
import { artifactRegistryTopic, type FunctionName, topology } from '../../shared/topology.ts';
import { testPubSub } from '../support/clients.ts';
import { countChanges, duplicateMessages } from '../support/counters.ts';
import { exclusively } from '../support/disruption.ts';
import { releaseHarness } from '../support/harness.ts';
import { stack } from '../support/stack.ts';

const { start } = releaseHarness();

const revisionLabel = 'switchyard.dev/revision';

/** The pid of one of the stack's function processes. */
function functionPid(name: string): number {
  const state = JSON.parse(readFileSync(join(stack().stateDir, 'stack.json'), 'utf8')) as {
    parts: { functions: FunctionsState };
  };
  const fn = state.parts.functions.functions.find((x) => x.name === name);
  if (!fn) throw new Error(`no function ${name} in the stack`);
  return fn.pid;
}

/** Whether the sweep has logged re-publishing an overdue step of this release. */
function sweepRepublished(releaseId: string): boolean {
  const log = readFileSync(join(stack().stateDir, 'logs', 'function-sweep.log'), 'utf8');
  return log
    .split('\n')
    .some((l) => l.includes('re-publishing an overdue step') && l.includes(`"releaseId":"${releaseId}"`));
}

/** Kills one function's process group and waits until it is really gone (a live one is left alone by `up`). */
async function kill(name: FunctionName): Promise<number> {
  const pid = functionPid(name);
  process.kill(-pid, 'SIGKILL');
  await waitFor(() => !isAlive(pid), { timeoutMs: 10_000, what: `function ${name} (pid ${pid}) to die` });
  return pid;
}

/**
 * Starts the stack's dead function again where it was (as Cloud Run replaces an instance), and
 * checks that it runs: every other file of the run needs it.
 */
async function revive(name: FunctionName, killed: number): Promise<void> {
  await waitFor(
    async () => {
      await new LocalStack({ stateDir: stack().stateDir, log: () => undefined }).up();
      const pid = functionPid(name);
      return pid !== killed && isAlive(pid);
    },
    { timeoutMs: 60_000, what: `the stack to start ${name} again` },
  );
}

describe('at-least-once delivery and crashes', () => {
  it('every message delivered twice: same end state, each Kubernetes change made once', async () => {
    const f = await start('dup');
    const pubsub = testPubSub();
    const t = topology();
    const topics = [artifactRegistryTopic, t.controlTopic, ...Object.values(t.stepTopic)];
    const dup = await duplicateMessages(
      pubsub,
      topics,
      f.name,
      (m) => m.attributes.target === f.name || m.data.toString('utf8').includes(f.repository),
    );
    const changes = await countChanges(f.kube, f.namespace);
    try {
      await f.push(2);
      const release = await f.waitRelease(`${f.name}-1`);
      expect(release.phase).toBe('Succeeded');
      const r0 = release.stable!;
      const green = release.candidate!;
      // Let late duplicates arrive: wait until the duplicator has copied the final hand-over too.
      await waitFor(() => dup.duplicated >= 6, { timeoutMs: 15_000, what: 'the duplicates to be published' });
      await waitFor(async () => (await f.store.releasesOf(f.name)).length >= 1, {
        timeoutMs: 5000,
        what: 'records',
      });

      expect((await f.workload()).releases).toBe(1);
      expect((await f.selector('api'))[revisionLabel]).toBe(green.revision);
      expect(changes.counts.deploymentsCreated.sort()).toEqual([r0.deployment, green.deployment].sort());
      expect(changes.counts.deploymentSpecChanges.sort()).toEqual([`${r0.deployment}@2`, 'api@2'].sort());
      expect(changes.counts.selectorChanges).toEqual([`api -> ${r0.revision}`, `api -> ${green.revision}`]);
    } finally {
      changes.stop();
      await dup.stop();
      await pubsub.close();
    }
  });

  it('a function killed before its step is delivered: Pub/Sub redelivers once it is back', async () => {
    const f = await start('kill', { blueGreen: { autoPromotionEnabled: false } });
    await f.push(2);
    const waiting = await f.waitRelease(`${f.name}-1`, (r) => r.phase === 'AwaitingPromotion');
    await exclusively('switch killed before its step', async () => {
      const killed = await kill('switch');
      try {
        await f.control('promote');
        await f.waitRelease(waiting.id, (r) => r.phase === 'Switching');
      } finally {
        await revive('switch', killed);
      }
    });
    const done = await f.waitRelease(waiting.id);
    expect(done.phase).toBe('Succeeded');
    expect((await f.selector('api'))[revisionLabel]).toBe(waiting.candidate!.revision);
  });

  it('a function killed while it waits to hand over: the sweep recovers the lost step', async () => {
    const f = await start('lost', { blueGreen: { scaleDownDelaySeconds: 3 } });
    await f.push(2);
    // The switch function commits ScalingDown, then waits 3 s to hand over to scale-down itself.
    const scaling = await f.waitRelease(`${f.name}-1`, (r) => r.phase === 'ScalingDown');
    await exclusively('switch killed while it waits', async () => {
      const killed = await kill('switch');
      try {
        // Down only until the sweep has taken the step over: other files' releases need switch too.
        await waitFor(() => sweepRepublished(scaling.id), {
          timeoutMs: 60_000,
          what: `the sweep to re-publish the lost step of ${scaling.id}`,
        });
      } finally {
        await revive('switch', killed);
      }
    });
    const done = await f.waitRelease(scaling.id, undefined, 60_000);
    expect(done.phase).toBe('Succeeded');
    const dueAt = scaling.wake!.at;
    const endedAt = done.history.at(-1)!.at;
    // Recovered by the sweep once overdue, not by the dead function (which would have been on time).
    expect(endedAt - dueAt).toBeGreaterThanOrEqual(3000);
    expect((await f.deployment(scaling.stable!.deployment))?.spec?.replicas).toBe(0);
  });
});

describe('durable timers', () => {
  it('a timer longer than a function waits is fired by the sweep, never before its due time', async () => {
    const f = await start('timer', { blueGreen: { autoPromotionSeconds: 30 } });
    await f.push(2);
    const done = await f.waitRelease(`${f.name}-1`, undefined, 120_000);
    expect(done.phase).toBe('Succeeded');
    const paused = done.history.find((h) => h.to === 'AwaitingPromotion')!.at;
    const switching = done.history.find((h) => h.to === 'Switching')!;
    // The promotion came from the timer (no one sent promote), and not a moment early. How late a
    // timer fires is load-dependent and is measured by the benchmark, not asserted here.
    expect(switching.cause).toBe('timer');
    expect(switching.by).toBeUndefined();
    expect(switching.at - paused).toBeGreaterThanOrEqual(30_000);
  });
});

describe('Kubernetes model', () => {
  it('carries the HPA to the new revision, which starts at the stable replica count', async () => {
    const f = await start('hpa', { replicas: 4 });
    await f.kube.kubeConfig
      .makeApiClient((await import('@kubernetes/client-node')).AutoscalingV2Api)
      .createNamespacedHorizontalPodAutoscaler({
        namespace: f.namespace,
        body: {
          metadata: { name: 'api' },
          spec: {
            scaleTargetRef: { apiVersion: 'apps/v1', kind: 'Deployment', name: 'api' },
            minReplicas: 2,
            maxReplicas: 8,
            metrics: [
              {
                type: 'Resource',
                resource: { name: 'cpu', target: { type: 'Utilization', averageUtilization: 80 } },
              },
            ],
          },
        },
      });
    await f.push(2);
    const done = await f.waitRelease(`${f.name}-1`);
    expect(done.phase).toBe('Succeeded');
    const autoscaling = f.kube.kubeConfig.makeApiClient(
      (await import('@kubernetes/client-node')).AutoscalingV2Api,
    );
    const hpa = await autoscaling.readNamespacedHorizontalPodAutoscaler({
      name: 'api',
      namespace: f.namespace,
    });
    expect(hpa.spec?.scaleTargetRef.name).toBe(done.candidate!.deployment);
    expect((await f.deployment(done.candidate!.deployment))?.spec?.replicas).toBe(4);
  });

  it('the sweep removes revisions beyond revisionHistoryLimit, never stable or the kept ones', async () => {
    const f = await start('gc');
    await f.store.db.runTransaction(async (tx) => {
      const ref = f.store.targetRef(f.name);
      const doc = await tx.get(ref);
      tx.update(ref, { 'spec.revisionHistoryLimit': 1, generation: (doc.get('generation') as number) + 1 });
    });
    const releases = [];
    for (const n of [2, 3, 4]) {
      await f.push(n);
      releases.push(await f.waitRelease(`${f.name}-${n - 1}`));
    }
    expect(releases.map((r) => r.phase)).toEqual(['Succeeded', 'Succeeded', 'Succeeded']);
    const [v2, v3, v4] = releases as [(typeof releases)[0], (typeof releases)[0], (typeof releases)[0]];
    const r0 = v2.stable!.deployment;
    await waitFor(
      async () =>
        (await f.deployment(r0)) === null && (await f.deployment(v2.candidate!.deployment)) === null,
      {
        timeoutMs: 30_000,
        what: 'the sweep to remove the revisions beyond the limit',
      },
    );
    expect(await f.deployment(v3.candidate!.deployment)).not.toBeNull();
    expect((await f.deployment(v4.candidate!.deployment))?.spec?.replicas).toBe(3);
    expect(await f.deployment('api')).not.toBeNull();
  });
});

describe('the sweep at rest', () => {
  it('a revision left running by a step whose commit was lost, and the preview Service left on it, are taken back by the sweep', async () => {
    const f = await start('orphan', { preview: true });
    await f.push(2);
    const done = await f.waitRelease(`${f.name}-1`);
    expect(done.phase).toBe('Succeeded');
    // What a lost commit leaves: a revision the records do not know, running, with the preview
    // Service pointed at it; then its release ended (which marks the workload for the sweep).
    const green = (await f.deployment(done.candidate!.deployment))!;
    const orphan = 'a0a0a0a0a0';
    const relabel = (labels: Record<string, string> | undefined) => ({ ...labels, [revisionLabel]: orphan });
    await f.kube.apps.createNamespacedDeployment({
      namespace: f.namespace,
      body: {
        metadata: {
          name: `api-${orphan}`,
          labels: relabel(green.metadata?.labels),
          annotations: green.metadata?.annotations,
        },
        spec: {
          ...green.spec!,
          replicas: 2,
          selector: { matchLabels: relabel(green.spec?.selector.matchLabels) },
          template: {
            ...green.spec!.template,
            metadata: { labels: relabel(green.spec?.template.metadata?.labels) },
          },
        },
      },
    });
    await f.cluster.selectRevision(f.namespace, 'api-preview', 'api', orphan);
    await f.store.workloadRef(f.name).update({ gcPending: true });
    // The sweep moves the preview Service back to stable, then (once drained) scales the orphan down.
    await waitFor(async () => (await f.selector('api-preview'))[revisionLabel] === done.candidate!.revision, {
      timeoutMs: 60_000,
      what: 'the sweep to move the preview Service back to the stable revision',
    });
    // Scaled to zero, and then, as an old revision beyond revisionHistoryLimit, possibly removed in
    // the same sweep: either is the revision taken back.
    await waitFor(
      async () => {
        const left = await f.deployment(`api-${orphan}`);
        return left === null || left.spec?.replicas === 0;
      },
      { timeoutMs: 60_000, what: 'the sweep to scale the orphaned revision down' },
    );
    expect((await f.selector('api'))[revisionLabel]).toBe(done.candidate!.revision);
    expect((await f.deployment(done.candidate!.deployment))?.spec?.replicas).toBe(3);
    await waitFor(async () => !(await f.workload()).gcPending, {
      timeoutMs: 30_000,
      what: 'the workload to be marked clean',
    });
  });
});
