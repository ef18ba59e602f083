// The nginx-canary router against the local cluster's API server. No ingress controller runs (none
// is needed): the router's whole job is the canary Ingress object beside the user's, so the tests
// assert those objects exactly, count the API writes, and check the user's Ingress is never touched.
import { KubeConfig, NetworkingV1Api, type V1Ingress } from '@kubernetes/client-node';
import { describe, expect, type TestContext, test } from 'vitest';
import {
  type NginxCanaryConfig,
  nginxCanaryConfigSchema,
  nginxCanaryRouter,
} from '../../shared/routers/nginx-canary/index.ts';
import type { RouterContext } from '../../shared/routers/router.ts';
import {
  createTestNamespace,
  deleteNamespace,
  isNotFound,
  type KubeClients,
  kubeClients,
} from '../support/kube.ts';
import { service, testNamespace } from '../support/kube-fixtures.ts';
import { stack } from '../support/stack.ts';
import { routerContract } from './contract.ts';

const router = nginxCanaryRouter();
const canary = 'nginx.ingress.kubernetes.io/canary';
const weight = 'nginx.ingress.kubernetes.io/canary-weight';
const byHeader = 'nginx.ingress.kubernetes.io/canary-by-header';
const byHeaderValue = 'nginx.ingress.kubernetes.io/canary-by-header-value';
const byCookie = 'nginx.ingress.kubernetes.io/canary-by-cookie';
const pattern = 'nginx.ingress.kubernetes.io/canary-by-header-pattern';

/**
 * A KubeConfig that counts the API requests made with it (every request asks it for credentials),
 * so a test can assert that a repeated operation made no write at all — a no-op merge patch would
 * leave the resourceVersion alone too, so that alone proves nothing.
 */
class CountingKubeConfig extends KubeConfig {
  reads = 0;
  writes = 0;
  override async applySecurityAuthentication(
    context: Parameters<KubeConfig['applySecurityAuthentication']>[0],
  ): Promise<void> {
    const method = context.getHttpMethod();
    if (method === 'GET' || method === 'HEAD') this.reads++;
    else this.writes++;
    return super.applySecurityAuthentication(context);
  }
}

/** The user's Ingress: class nginx, one host, two paths to Service `stable` port 80, TLS. */
function stableIngress(name: string): V1Ingress {
  const path = (p: string) => ({
    path: p,
    pathType: 'Prefix',
    backend: { service: { name: 'stable', port: { number: 80 } } },
  });
  return {
    metadata: { name, annotations: { 'nginx.ingress.kubernetes.io/proxy-body-size': '8m' } },
    spec: {
      ingressClassName: 'nginx',
      tls: [{ hosts: ['shop.example.com'], secretName: 'shop-tls' }],
      rules: [{ host: 'shop.example.com', http: { paths: [path('/'), path('/api')] } }],
    },
  };
}

/** The rules the canary Ingress must carry: the stable Ingress's, with Service `canary` as backend. */
const canaryRules = [
  {
    host: 'shop.example.com',
    http: {
      paths: ['/', '/api'].map((p) => ({
        path: p,
        pathType: 'Prefix',
        backend: { service: { name: 'canary', port: { number: 80 } } },
      })),
    },
  },
];

interface Fixture {
  ns: string;
  config: NginxCanaryConfig;
  ctx: RouterContext;
  kubeConfig: CountingKubeConfig;
  net: NetworkingV1Api;
}

function routerContext(ns: string, kubeConfig: KubeConfig, releaseId = 'release-web-1'): RouterContext {
  return {
    namespace: ns,
    workload: 'web',
    stableService: 'stable',
    canaryService: 'canary',
    stableRevision: 'r1',
    canaryRevision: 'r2',
    stableDeployment: 'web-r1',
    canaryDeployment: 'web-r2',
    replicas: 2,
    releaseId,
    kubeConfig,
  };
}

/** Services stable/canary and the stable Ingress `web` in namespace `ns`. */
async function populate(
  kube: KubeClients,
  ns: string,
  config: Partial<NginxCanaryConfig> = {},
): Promise<Fixture> {
  await kube.core.createNamespacedService({ namespace: ns, body: service('stable', { app: 'web' }) });
  await kube.core.createNamespacedService({ namespace: ns, body: service('canary', { app: 'web-canary' }) });
  const net = kube.kubeConfig.makeApiClient(NetworkingV1Api);
  await net.createNamespacedIngress({ namespace: ns, body: stableIngress('web') });
  const kubeConfig = new CountingKubeConfig();
  kubeConfig.loadFromFile(stack().kubeconfig);
  return {
    ns,
    config: nginxCanaryConfigSchema.parse({ stableIngress: 'web', ...config }),
    ctx: routerContext(ns, kubeConfig),
    kubeConfig,
    net,
  };
}

async function fixture(t: TestContext, prefix: string, config: Partial<NginxCanaryConfig> = {}) {
  const kube = kubeClients(stack().kubeconfig);
  return populate(kube, await testNamespace(t, kube, prefix), config);
}

const readCanary = (f: Fixture) => f.net.readNamespacedIngress({ name: 'web-canary', namespace: f.ns });
const readStable = (f: Fixture) => f.net.readNamespacedIngress({ name: 'web', namespace: f.ns });

describe.concurrent('nginx-canary router', () => {
  test('prepare creates the canary Ingress at weight 0 beside the stable one, and a second prepare writes nothing', async (t) => {
    const f = await fixture(t, 'ngx-prepare', {
      additionalIngressAnnotations: { [pattern]: '^(beta|internal)$' },
    });
    await router.prepare(f.config, f.ctx);
    expect(f.kubeConfig.writes).toBe(1);

    const c = await readCanary(f);
    expect(c.metadata?.labels).toEqual({ 'app.kubernetes.io/managed-by': 'switchyard' });
    expect(c.metadata?.annotations).toEqual({
      'switchyard.dev/release': 'release-web-1',
      [canary]: 'true',
      [weight]: '0',
      [pattern]: '^(beta|internal)$',
    });
    // Class and rules copied with canary backends; TLS and the stable's own annotations stay there.
    expect(c.spec).toEqual({ ingressClassName: 'nginx', rules: canaryRules });
    expect(await router.observe(f.config, f.ctx)).toEqual({ weight: 0, headerRoute: null, accepted: true });

    const writes = f.kubeConfig.writes;
    await router.prepare(f.config, f.ctx);
    expect(f.kubeConfig.writes).toBe(writes);
    expect((await readCanary(f)).metadata?.resourceVersion).toBe(c.metadata?.resourceVersion);
  });

  test('setWeight 10 then 50 changes only canary-weight; the same weight again makes no write', async (t) => {
    const f = await fixture(t, 'ngx-weight');
    await router.prepare(f.config, f.ctx);
    const base = { 'switchyard.dev/release': 'release-web-1', [canary]: 'true' };

    await router.setWeight(f.config, f.ctx, 10, null);
    const at10 = await readCanary(f);
    expect(at10.metadata?.annotations).toEqual({ ...base, [weight]: '10' });
    expect(at10.spec).toEqual({ ingressClassName: 'nginx', rules: canaryRules });
    expect(await router.observe(f.config, f.ctx)).toEqual({ weight: 10, headerRoute: null, accepted: true });

    await router.setWeight(f.config, f.ctx, 50, null);
    const at50 = await readCanary(f);
    expect(at50.metadata?.annotations).toEqual({ ...base, [weight]: '50' });
    expect(await router.observe(f.config, f.ctx)).toEqual({ weight: 50, headerRoute: null, accepted: true });

    const writes = f.kubeConfig.writes;
    await router.setWeight(f.config, f.ctx, 50, null);
    expect(f.kubeConfig.writes).toBe(writes);
    expect((await readCanary(f)).metadata?.resourceVersion).toBe(at50.metadata?.resourceVersion);

    await expect(router.setWeight(f.config, f.ctx, 12.5, null)).rejects.toMatchObject({ kind: 'invalid' });
    await expect(router.setWeight(f.config, f.ctx, 101, null)).rejects.toMatchObject({ kind: 'invalid' });
  });

  test('a header route sets canary-by-header and -value, a cookie route canary-by-cookie, null removes them', async (t) => {
    const f = await fixture(t, 'ngx-header');
    await router.prepare(f.config, f.ctx);
    const base = { 'switchyard.dev/release': 'release-web-1', [canary]: 'true', [weight]: '10' };

    const header = { name: 'testers', header: { name: 'x-canary', value: 'yes' } };
    await router.setWeight(f.config, f.ctx, 10, header);
    expect((await readCanary(f)).metadata?.annotations).toEqual({
      ...base,
      [byHeader]: 'x-canary',
      [byHeaderValue]: 'yes',
      'switchyard.dev/header-route': 'testers',
    });
    expect(await router.observe(f.config, f.ctx)).toEqual({
      weight: 10,
      headerRoute: header,
      accepted: true,
    });

    // Switching to a cookie route removes the header annotations in the same write.
    const cookie = { name: 'beta', cookie: 'canary_beta' };
    await router.setWeight(f.config, f.ctx, 10, cookie);
    expect((await readCanary(f)).metadata?.annotations).toEqual({
      ...base,
      [byCookie]: 'canary_beta',
      'switchyard.dev/header-route': 'beta',
    });
    expect(await router.observe(f.config, f.ctx)).toEqual({
      weight: 10,
      headerRoute: cookie,
      accepted: true,
    });

    await router.setWeight(f.config, f.ctx, 10, null);
    expect((await readCanary(f)).metadata?.annotations).toEqual(base);
    expect((await router.observe(f.config, f.ctx)).headerRoute).toBeNull();
  });

  test('finalize deletes the canary Ingress and leaves the stable Ingress exactly as it was', async (t) => {
    const f = await fixture(t, 'ngx-final');
    const before = await readStable(f);
    await router.prepare(f.config, f.ctx);
    await router.setWeight(f.config, f.ctx, 50, {
      name: 'testers',
      header: { name: 'x-canary', value: 'always' },
    });

    await router.finalize(f.config, f.ctx);
    await expect(readCanary(f)).rejects.toSatisfy(isNotFound);
    await router.finalize(f.config, f.ctx); // 404 is success
    expect(await router.observe(f.config, f.ctx)).toMatchObject({
      weight: 0,
      headerRoute: null,
      accepted: true,
    });

    const after = await readStable(f);
    expect(JSON.stringify(after.spec)).toBe(JSON.stringify(before.spec));
    expect(after.metadata?.annotations).toEqual(before.metadata?.annotations);
    expect(after.metadata?.resourceVersion).toBe(before.metadata?.resourceVersion);

    // A step delivered late after finalize must not bring the canary back.
    await expect(router.setWeight(f.config, f.ctx, 10, null)).rejects.toMatchObject({ kind: 'not-found' });
  });

  test('an Ingress named <stable>-canary that Switchyard does not manage is refused and never touched', async (t) => {
    const f = await fixture(t, 'ngx-foreign');
    const foreign = await f.net.createNamespacedIngress({
      namespace: f.ns,
      body: { ...stableIngress('web-canary'), metadata: { name: 'web-canary' } },
    });
    await expect(router.prepare(f.config, f.ctx)).rejects.toMatchObject({
      kind: 'unsafe',
      message: expect.stringContaining('is not managed by Switchyard'),
    });
    await expect(router.setWeight(f.config, f.ctx, 10, null)).rejects.toMatchObject({ kind: 'unsafe' });
    await expect(router.observe(f.config, f.ctx)).rejects.toMatchObject({ kind: 'unsafe' });
    await expect(router.finalize(f.config, f.ctx)).rejects.toMatchObject({ kind: 'unsafe' });
    expect((await readCanary(f)).metadata?.resourceVersion).toBe(foreign.metadata?.resourceVersion);
  });

  test('prepare refuses when the stable Ingress is missing', async (t) => {
    const f = await fixture(t, 'ngx-missing');
    const config = nginxCanaryConfigSchema.parse({ stableIngress: 'shop' });
    await expect(router.prepare(config, f.ctx)).rejects.toMatchObject({
      kind: 'not-found',
      message: expect.stringContaining(`Ingress "shop" not found in namespace "${f.ns}"`),
    });
  });

  test("a new release's prepare takes over a leftover canary Ingress; the old release then leaves it alone", async (t) => {
    const f = await fixture(t, 'ngx-takeover');
    await router.prepare(f.config, f.ctx);
    await router.setWeight(f.config, f.ctx, 30, {
      name: 'testers',
      header: { name: 'x-canary', value: 'yes' },
    });

    const next = routerContext(f.ns, f.kubeConfig, 'release-web-2');
    await router.prepare(f.config, next);
    expect((await readCanary(f)).metadata?.annotations).toEqual({
      'switchyard.dev/release': 'release-web-2',
      [canary]: 'true',
      [weight]: '0',
    });
    expect(await router.observe(f.config, f.ctx)).toMatchObject({ accepted: false });
    await expect(router.setWeight(f.config, f.ctx, 60, null)).rejects.toMatchObject({ kind: 'unsafe' });
    await router.finalize(f.config, f.ctx); // the superseded release's cleanup: not its object any more
    expect(await router.observe(f.config, next)).toEqual({ weight: 0, headerRoute: null, accepted: true });
  });

  test('the configuration refuses annotations the router drives itself', () => {
    for (const key of [canary, weight, byHeader, byHeaderValue, byCookie, `${canary}-weight-total`]) {
      const r = nginxCanaryConfigSchema.safeParse({
        stableIngress: 'web',
        additionalIngressAnnotations: { [key]: 'x' },
      });
      expect(r.success, key).toBe(false);
    }
    expect(
      nginxCanaryConfigSchema.safeParse({
        stableIngress: 'web',
        additionalIngressAnnotations: { [pattern]: '.*' },
      }).success,
    ).toBe(true);
  });
});

routerContract<NginxCanaryConfig>({
  name: 'nginx-canary',
  router,
  headerRoutes: true,
  exactWeights: [10, 50, 100],
  async setup() {
    const kube = kubeClients(stack().kubeconfig);
    const ns = await createTestNamespace('ngx-contract', kube);
    const teardown = () => deleteNamespace(ns, kube);
    try {
      const f = await populate(kube, ns);
      return { config: f.config, ctx: f.ctx, teardown };
    } catch (err) {
      await teardown();
      throw err;
    }
  },
});
