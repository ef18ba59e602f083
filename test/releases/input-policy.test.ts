// What a hostile target author might try, through the real functions on the local stack (issue 11):
// a tag filter that a backtracking engine takes forever over; a privileged Job, a hostPath mount,
// another service account, NGINX snippets and canary-weight-total written to Firestore past
// validate (as anyone with write access to Firestore could). Each attempt is refused with a
// recorded reason, and a well-behaved target beside it releases as usual. validate and apply
// refusing the same targets: test/cli/input-policy.test.ts.
import { NetworkingV1Api } from '@kubernetes/client-node';
import { describe, expect, it } from 'vitest';
import { podStages, stageLabel } from '../../infra/local/components/kubernetes.ts';
import { waitFor } from '../../infra/local/process.ts';
import type { PushRecord } from '../../shared/adapters/store.ts';
import type { AnalysisRun } from '../../shared/analysis/run.ts';
import { releaseHarness } from '../support/harness.ts';
import { type Fixture, releaseFixture } from '../support/release.ts';

/** A blue-green target's options whose pre-promotion analysis is a Job (kwok stage job-succeed). */
function jobAnalysis() {
  return {
    analysis: {
      templates: [
        {
          name: 'suite',
          metrics: [
            {
              name: 'integration',
              provider: {
                job: {
                  spec: {
                    template: {
                      metadata: { labels: { [stageLabel]: podStages.jobSucceed } },
                      spec: { containers: [{ name: 'newman', image: 'example.com/newman:6' }] },
                    },
                  },
                  timeoutSeconds: 60,
                },
              },
            },
          ],
        },
      ],
    },
    blueGreen: { prePromotionAnalysis: { templates: [{ templateName: 'suite' }] } },
  };
}

/** Edits the stored target document in place, as a write to Firestore past validate would. */
// biome-ignore lint/suspicious/noExplicitAny: the stored document is edited into hostile shapes.
async function tamper(f: Fixture, edit: (spec: Record<string, any>) => void): Promise<void> {
  const ref = f.db.collection('targets').doc(f.name);
  const data = (await ref.get()).data()!;
  edit(data.spec);
  await ref.set(data);
}

/** Removes a tampered target document (a no-op when it is gone already). */
async function forget(f: Fixture): Promise<void> {
  await f.db.collection('targets').doc(f.name).delete();
}

const { start } = releaseHarness();

describe('input policy on the stack', () => {
  it('a tagFilter exponential for a backtracking engine, against a 128-character tag, is answered at once; the next push of another target is released', async () => {
    const good = await start('policy-good');
    const slow = await releaseFixture('policy-regex', { tagFilter: '^v?(\\d+\\.?)+$' });
    try {
      // 2^126 paths for a backtracking engine (a 31-character tag took 75 s in issue 11).
      const tag = `v${'1'.repeat(126)}x`;
      expect(tag).toHaveLength(128);
      const sent = Date.now();
      const messageId = await slow.push(2, { tag });
      await good.push(2);
      const record = await waitFor(
        async () => {
          const snap = await slow.store.pushRef(messageId, slow.name).get();
          return snap.exists ? (snap.data() as PushRecord) : undefined;
        },
        { timeoutMs: 20_000, intervalMs: 100, what: 'the record of the 128-character tag' },
      );
      console.info(
        `push of a 128-character tag against ^v?(\\d+\\.?)+$ recorded ${Date.now() - sent} ms after it was sent`,
      );
      expect(record).toMatchObject({
        outcome: 'ignored',
        reason: `tag ${tag} does not match tagFilter ^v?(\\d+\\.?)+$ of target ${slow.name}`,
      });
      expect((await slow.workload()).releases).toBe(0);
      const released = await good.waitRelease(`${good.name}-1`);
      expect(released.phase).toBe('Succeeded');
      expect(released.image).toBe(good.image(2));
    } finally {
      await slow.close();
    }
  });

  it('a privileged Job with hostPath as another service account, and NGINX snippet and canary-weight-total, stored past validate, fail their releases with the reason and create nothing; a well-behaved Job target releases', async () => {
    const good = await start('policy-job', jobAnalysis());
    const job = await releaseFixture('policy-priv', jobAnalysis());
    const nginx = await releaseFixture('policy-ngx', {
      canary: { steps: [{ setWeight: 10 }], trafficRouting: { nginx: { stableIngress: 'api' } } },
    });
    try {
      await tamper(job, (spec) => {
        const pod = spec.analysis.templates[0].metrics[0].provider.config.spec.template.spec;
        pod.serviceAccountName = 'switchyard-deployer';
        pod.containers[0].securityContext = { privileged: true };
        pod.volumes = [{ name: 'node', hostPath: { path: '/' } }];
      });
      await tamper(nginx, (spec) => {
        spec.strategy.canary.trafficRouting.nginx.additionalIngressAnnotations = {
          'nginx.ingress.kubernetes.io/server-snippet': 'location /x { return 200 "owned"; }',
          'nginx.ingress.kubernetes.io/canary-weight-total': '1000',
        };
      });
      await Promise.all([job.push(2), nginx.push(2), good.push(2)]);

      const pod = 'spec.analysis.templates[0].metrics[0].provider.job.spec.template.spec';
      const refusedJob = await job.waitRelease(`${job.name}-1`);
      // The hostile documents go as soon as their release has ended: the run's stack is shared, and
      // every listing of its targets (the README walk-through's `switchyard targets`) reports them.
      await forget(job);
      expect(refusedJob.phase).toBe('Failed');
      expect(refusedJob.reason).toContain(`target ${job.name} no longer validates: `);
      for (const field of [
        'serviceAccountName',
        'containers[0].securityContext.privileged',
        'volumes[0].hostPath',
      ]) {
        expect(refusedJob.reason).toContain(`${pod}.${field}: `);
      }
      expect((await job.kube.batch.listNamespacedJob({ namespace: job.namespace })).items).toEqual([]);
      // Nothing of the release was created, and the plain Deployment still serves.
      expect((await job.deployment('api'))?.spec?.replicas).toBe(3);
      expect((await job.kube.apps.listNamespacedDeployment({ namespace: job.namespace })).items).toHaveLength(
        1,
      );

      const refusedNginx = await nginx.waitRelease(`${nginx.name}-1`);
      await forget(nginx);
      expect(refusedNginx.phase).toBe('Failed');
      const annotations = 'spec.strategy.canary.trafficRouting.nginx.additionalIngressAnnotations';
      expect(refusedNginx.reason).toContain(
        `${annotations}["nginx.ingress.kubernetes.io/server-snippet"]: "nginx.ingress.kubernetes.io/server-snippet" is a snippet annotation`,
      );
      expect(refusedNginx.reason).toContain(
        `${annotations}["nginx.ingress.kubernetes.io/canary-weight-total"]: "nginx.ingress.kubernetes.io/canary-weight-total" is set by the router itself`,
      );
      expect(
        (
          await nginx.kube.kubeConfig
            .makeApiClient(NetworkingV1Api)
            .listNamespacedIngress({ namespace: nginx.namespace })
        ).items,
      ).toEqual([]);

      const released = await good.waitRelease(`${good.name}-1`);
      expect(released.phase).toBe('Succeeded');
      expect((released.analysis.pre as AnalysisRun).phase).toBe('Successful');
    } finally {
      await Promise.all([forget(job), forget(nginx)]);
      await Promise.all([job.close(), nginx.close()]);
    }
  });
});
