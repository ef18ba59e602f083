// Switchyard's Kubernetes rights, for real: the functions of the local stack reach the cluster as a
// user who holds nothing but the Role of shared/rbac.ts in the target's namespace (the
// stack's admin impersonates the function's Google identity, as GKE would authenticate it). A full
// release must succeed with that alone, and the same identity must be refused everywhere else.
import { randomUUID } from 'node:crypto';
import { readFileSync, renameSync, writeFileSync } from 'node:fs';
import {
  ApiException,
  AppsV1Api,
  AutoscalingV2Api,
  CoreV1Api,
  EventsV1Api,
  KubeConfig,
  NetworkingV1Api,
  RbacAuthorizationV1Api,
} from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse, stringify } from 'yaml';
import { waitFor } from '../../infra/local/process.ts';
import type { PushRecord } from '../../shared/adapters/store.ts';
import { rbacManifests } from '../../shared/rbac.ts';
import { releaseHarness } from '../support/harness.ts';
import { createTestNamespace, deleteNamespace, stackKubeClients } from '../support/kube.ts';
import { createStableIngress, hpa } from '../support/kube-fixtures.ts';
import { stack, uniqueId } from '../support/stack.ts';

interface KubeconfigFile {
  'current-context': string;
  contexts: { name: string; context: { cluster: string; user: string; namespace?: string } }[];
  users: { name: string; user: Record<string, unknown> }[];
  [key: string]: unknown;
}

/** Rewrites the stack's kubeconfig in one step (readers see the old file or the new one). */
function updateKubeconfig(change: (doc: KubeconfigFile) => void): void {
  const path = stack().kubeconfig;
  const doc = parse(readFileSync(path, 'utf8')) as KubeconfigFile;
  change(doc);
  const tmp = `${path}.${randomUUID().slice(0, 8)}.tmp`;
  writeFileSync(tmp, stringify(doc), { mode: 0o600 });
  renameSync(tmp, path);
}

/**
 * Adds a context whose user is the stack's admin impersonating `member` (kubeconfig `as`, sent as
 * Impersonate-User). A context name of its own: the functions cache connections per context.
 */
function addImpersonatingContext(member: string): string {
  const name = uniqueId('switchyard-rbac');
  updateKubeconfig((doc) => {
    const current = doc.contexts.find((c) => c.name === doc['current-context'])!;
    const admin = doc.users.find((u) => u.name === current.context.user)!;
    doc.users.push({ name, user: { ...admin.user, as: member } });
    doc.contexts.push({ name, context: { cluster: current.context.cluster, user: name } });
  });
  return name;
}

function removeContext(name: string): void {
  updateKubeconfig((doc) => {
    doc.contexts = doc.contexts.filter((c) => c.name !== name);
    doc.users = doc.users.filter((u) => u.name !== name);
  });
}

/** Switchyard's Role and RoleBinding in `namespace`, created with the stack's admin rights. */
async function grant(namespace: string, member: string): Promise<void> {
  const { role, roleBinding } = rbacManifests(namespace, [member]);
  const rbac = stackKubeClients().kubeConfig.makeApiClient(RbacAuthorizationV1Api);
  await rbac.createNamespacedRole({ namespace, body: role });
  await rbac.createNamespacedRoleBinding({ namespace, body: roleBinding });
}

async function status(call: () => Promise<unknown>): Promise<number> {
  try {
    await call();
    return 200;
  } catch (err) {
    if (err instanceof ApiException) return err.code;
    throw err;
  }
}

const revisionLabel = 'switchyard.dev/revision';
const { start } = releaseHarness({ requireSamples: true });

describe('Switchyard with only its Role (shared/rbac.ts)', () => {
  let member: string;
  let context: string;
  beforeAll(() => {
    member = `switchyard-functions@${stack().projectId}.iam.gserviceaccount.com`;
    context = addImpersonatingContext(member);
  });
  afterAll(() => removeContext(context));

  it('runs a full blue-green release: adoption, HPA, preview, a Job analysis, switch, scale-down', async () => {
    const f = await start('rbac-bg', {
      context,
      preview: true,
      replicas: 2,
      blueGreen: {
        previewReplicaCount: 1,
        prePromotionAnalysis: { templates: [{ templateName: 'integration' }] },
      },
      analysis: {
        templates: [
          {
            name: 'integration',
            metrics: [
              {
                name: 'tests',
                provider: {
                  job: {
                    spec: {
                      template: {
                        metadata: { labels: { 'switchyard.dev/stage': 'job-succeed' } },
                        spec: {
                          restartPolicy: 'Never',
                          containers: [{ name: 'tests', image: 'registry.example/tests:1' }],
                        },
                      },
                    },
                  },
                },
              },
            ],
          },
        ],
      },
    });
    await grant(f.namespace, member);
    const autoscaling = f.kube.kubeConfig.makeApiClient(AutoscalingV2Api);
    await autoscaling.createNamespacedHorizontalPodAutoscaler({
      namespace: f.namespace,
      body: hpa('api', 'api', 2, 4),
    });

    const messageId = await f.push(2);
    const done = await f.waitRelease(`${f.name}-1`);
    expect(done.phase, done.reason ?? '').toBe('Succeeded');
    expect(done.history.map((h) => h.to)).toEqual(
      expect.arrayContaining(['PrePromotionAnalysis', 'Switching', 'ScalingDown', 'Succeeded']),
    );
    expect(done.analysis.pre?.metrics[0]?.measurements.at(-1)?.phase).toBe('Successful');
    expect((await f.selector('api'))[revisionLabel]).toBe(done.candidate!.revision);
    expect((await f.selector('api-preview'))[revisionLabel]).toBe(done.candidate!.revision);
    expect((await f.deployment(done.stable!.deployment))?.spec?.replicas).toBe(0);
    const moved = await autoscaling.readNamespacedHorizontalPodAutoscaler({
      name: 'api',
      namespace: f.namespace,
    });
    expect(moved.spec?.scaleTargetRef.name).toBe(done.candidate!.deployment);
    expect((await f.kube.batch.listNamespacedJob({ namespace: f.namespace })).items).toEqual([]);

    // Each phase change is a Kubernetes Event on the green revision, recorded under the Role too.
    // The step records them just after its commit: wait for the last one.
    const events = f.kube.kubeConfig.makeApiClient(EventsV1Api);
    const recorded = await waitFor(
      async () => {
        const mine = (await events.listNamespacedEvent({ namespace: f.namespace })).items.filter(
          (e) =>
            e.reportingController === 'switchyard.dev/switchyard' &&
            e.regarding?.name === done.candidate!.deployment,
        );
        return mine.some((e) => e.reason === 'Succeeded') ? mine : undefined;
      },
      { timeoutMs: 10_000, what: 'the Kubernetes Event of Succeeded' },
    );
    expect(recorded.map((e) => e.reason)).toEqual(
      expect.arrayContaining(['PrePromotionAnalysis', 'Switching', 'ScalingDown', 'Succeeded']),
    );
    expect(recorded.find((e) => e.reason === 'Succeeded')?.note).toMatch(new RegExp(`^release ${done.id}: `));

    // The push's record is kept for 30 days, then removed by Firestore's TTL (expireAt).
    const record = (await f.store.pushRef(messageId, f.name).get()).data() as PushRecord;
    const expireAt = (record.expireAt as { toMillis(): number }).toMillis();
    expect(expireAt - record.receivedAt).toBe(30 * 24 * 3600 * 1000);
  });

  it('runs a canary through the NGINX router: its canary Ingress created, weighted and removed', async () => {
    const f = await start('rbac-nginx', {
      context,
      replicas: 2,
      canary: {
        trafficRouting: { nginx: { stableIngress: 'api' } },
        steps: [{ setWeight: 20 }, { pause: { duration: 3 } }],
      },
    });
    await grant(f.namespace, member);
    const networking = f.kube.kubeConfig.makeApiClient(NetworkingV1Api);
    await createStableIngress(f.kube, f.namespace);

    await f.push(2);
    const id = `${f.name}-1`;
    const weighted = await f.waitRelease(
      id,
      (r) => r.phase === 'Progressing' && r.canary?.inForce?.weight === 20,
    );
    const canaryIngress = await networking.readNamespacedIngress({
      name: 'api-canary',
      namespace: f.namespace,
    });
    expect(canaryIngress.metadata?.annotations?.['nginx.ingress.kubernetes.io/canary-weight']).toBe('20');
    const done = await f.waitRelease(weighted.id);
    expect(done.phase, done.reason ?? '').toBe('Succeeded');
    expect((await f.selector('api'))[revisionLabel]).toBe(done.candidate!.revision);
    expect(
      await status(() => networking.readNamespacedIngress({ name: 'api-canary', namespace: f.namespace })),
    ).toBe(404);
  });

  it('is refused in other namespaces, on cluster-scoped objects and beyond its verbs', async () => {
    const admin = stackKubeClients();
    const own = await createTestNamespace('rbac-own', admin);
    const other = await createTestNamespace('rbac-other', admin);
    try {
      await grant(own, member);
      const kc = new KubeConfig();
      kc.loadFromFile(stack().kubeconfig);
      kc.setCurrentContext(context);
      const apps = kc.makeApiClient(AppsV1Api);
      const core = kc.makeApiClient(CoreV1Api);
      const rbac = kc.makeApiClient(RbacAuthorizationV1Api);
      const deployment = (name: string) => ({
        metadata: { name, labels: { app: name } },
        spec: {
          replicas: 1,
          selector: { matchLabels: { app: name } },
          template: {
            metadata: { labels: { app: name } },
            spec: { containers: [{ name, image: 'registry.example/app:1' }] },
          },
        },
      });

      // What the Role grants works (so the refusals below are the Role's, not a broken identity).
      expect(await status(() => apps.listNamespacedDeployment({ namespace: own }))).toBe(200);
      expect(
        await status(() => apps.createNamespacedDeployment({ namespace: own, body: deployment('x') })),
      ).toBe(200);

      const refused = {
        'list Deployments in another namespace': () => apps.listNamespacedDeployment({ namespace: other }),
        'create a Deployment in another namespace': () =>
          apps.createNamespacedDeployment({ namespace: other, body: deployment('y') }),
        'read Services in another namespace': () => core.listNamespacedService({ namespace: other }),
        'list Deployments in every namespace': () => apps.listDeploymentForAllNamespaces(),
        'list nodes': () => core.listNode(),
        'list namespaces': () => core.listNamespace(),
        'create a namespace': () =>
          core.createNamespace({ body: { metadata: { name: uniqueId('rbac-no') } } }),
        'list ClusterRoles': () => rbac.listClusterRole(),
        'create a ClusterRoleBinding': () =>
          rbac.createClusterRoleBinding({
            body: {
              metadata: { name: uniqueId('rbac-no') },
              roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: 'cluster-admin' },
              subjects: [{ apiGroup: 'rbac.authorization.k8s.io', kind: 'User', name: member }],
            },
          }),
        'read Secrets in its namespace': () => core.listNamespacedSecret({ namespace: own }),
        'create Pods in its namespace': () =>
          core.createNamespacedPod({
            namespace: own,
            body: {
              metadata: { name: 'p' },
              spec: { containers: [{ name: 'p', image: 'registry.example/p:1' }] },
            },
          }),
        'delete a Service in its namespace': () =>
          core.deleteNamespacedService({ name: 'kubernetes', namespace: own }),
        'change its own Role': () =>
          rbac.patchNamespacedRole({
            name: 'switchyard',
            namespace: own,
            body: [{ op: 'test', path: '/kind', value: 'Role' }],
          }),
      };
      const answers: Record<string, number> = {};
      for (const [what, call] of Object.entries(refused)) answers[what] = await status(call);
      expect(answers).toEqual(Object.fromEntries(Object.keys(refused).map((what) => [what, 403])));
    } finally {
      await deleteNamespace(own, admin);
      await deleteNamespace(other, admin);
    }
  });
});
