// The `web` provider against real HTTP: a server in its own network namespace (the API server will
// not proxy to loopback), asked directly by URL and through the local cluster's API server service
// proxy via a selector-less Service with hand-made Endpoints pointing at that server.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { MeasureContext } from '../../shared/analysis/provider.ts';
import {
  createWebProvider,
  type WebConfigInput,
  webConfigSchema,
  webTransport,
} from '../../shared/analysis/providers/web/index.ts';
import { parseEgressAllow } from '../../shared/egress/policy.ts';
import { createTestNamespace, deleteNamespace, type KubeClients, stackKubeClients } from '../support/kube.ts';
import { type NetnsHost, startNetnsHost } from '../support/netns.ts';
import { providerContract } from './contract.ts';

const metrics = { errors: 3, requests: 100, ok: true };
const serviceName = 'metrics';
const servicePort = 80;

let clients: KubeClients;
let host: NetnsHost;
let namespace: string;

function ctx(): MeasureContext {
  return {
    namespace,
    releaseId: 'web-test',
    metric: 'errors',
    index: 0,
    run: 'pre',
    kubeConfig: clients.kubeConfig,
    googleToken: async () => {
      throw new Error('web does not use Google tokens');
    },
    now: () => Date.now(),
  };
}

// The netns hosts live in 10.123.0.0/16 (test/support/netns.ts): an installation reaching them
// would name that range in SWITCHYARD_EGRESS_ALLOW.
const webProvider = createWebProvider(webTransport(() => parseEgressAllow('10.123.0.0/16')));

function measure(config: WebConfigInput) {
  return webProvider.measure(webConfigSchema.parse(config), ctx());
}

/** A node name no node has: kwok (which manages only its own nodes) and the scheduler leave the pod alone. */
const unmanagedNode = 'switchyard-netns-host';

/**
 * Makes the API server's service proxy send requests for Service `metrics` to the netns host. What
 * kube-apiserver v1.36.3 needs for that (found by trying; its log names the reasons):
 * - a v1 Endpoints object for the Service. The proxy resolves through Endpoints, not EndpointSlices:
 *   with only a hand-made EndpointSlice it answers 404 `services "metrics" not found`. (For a Service
 *   without a selector the mirroring controller copies the Endpoints into an EndpointSlice anyway.)
 * - a targetRef on the address to a Pod in the same namespace whose status.podIPs holds that address;
 *   otherwise it logs "Address has no target ref, skipping" and answers 503 "no endpoints available".
 *   So a stand-in Pod is bound to a node that does not exist (no kwok, scheduler or kubelet touches
 *   it) and its status is written here. The pod garbage collector deletes pods of missing nodes only
 *   after a 40 s quarantine, far longer than these tests need it.
 * Readiness is not checked.
 */
async function createServiceToHost(): Promise<void> {
  const podName = 'netns-host';
  await clients.core.createNamespacedPod({
    namespace,
    body: {
      metadata: { name: podName },
      spec: {
        nodeName: unmanagedNode,
        containers: [{ name: 'server', image: 'example.invalid/netns-host:1' }],
      },
    },
  });
  const pod = await clients.core.readNamespacedPod({ name: podName, namespace });
  pod.status = { phase: 'Running', podIP: host.address, podIPs: [{ ip: host.address }] };
  await clients.core.replaceNamespacedPodStatus({ name: podName, namespace, body: pod });

  await clients.core.createNamespacedService({
    namespace,
    body: {
      metadata: { name: serviceName },
      spec: { ports: [{ name: 'http', port: servicePort, targetPort: host.port, protocol: 'TCP' }] },
    },
  });
  await clients.core.createNamespacedEndpoints({
    namespace,
    body: {
      metadata: { name: serviceName },
      subsets: [
        {
          addresses: [
            {
              ip: host.address,
              targetRef: { kind: 'Pod', namespace, name: podName, uid: pod.metadata?.uid },
            },
          ],
          ports: [{ name: 'http', port: host.port, protocol: 'TCP' }],
        },
      ],
    },
  });
}

beforeAll(async () => {
  clients = stackKubeClients();
  host = await startNetnsHost({
    routes: {
      '/metrics.json': { status: 200, body: JSON.stringify(metrics) },
      '/broken': { status: 500, body: '{"error":"broken on purpose"}' },
      '/text': { status: 200, body: 'ok', contentType: 'text/plain' },
    },
  });
  namespace = await createTestNamespace('web-provider', clients);
  await createServiceToHost();
});

afterAll(async () => {
  await Promise.all([host?.close(), namespace ? deleteNamespace(namespace, clients) : undefined]);
});

describe('web provider by URL', () => {
  it('returns the value at the jsonPath', async () => {
    const result = await measure({ url: host.url('/metrics.json'), jsonPath: '$.errors' });
    expect(result).toEqual({ kind: 'value', value: 3, noData: false });
  });

  it('sends method, headers and body as configured', async () => {
    const result = await measure({
      url: host.url('/echo?x=1'),
      method: 'PUT',
      headers: [{ name: 'X-Switchyard-Test', value: 'yes' }],
      body: '{"hello":"world"}',
    });
    expect(result.kind).toBe('value');
    expect((result as { value: unknown }).value).toMatchObject({
      method: 'PUT',
      url: '/echo?x=1',
      headers: { 'x-switchyard-test': 'yes' },
      body: '{"hello":"world"}',
    });
  });

  it('turns a 500 into an error with the status', async () => {
    const result = await measure({ url: host.url('/broken'), jsonPath: '$.errors' });
    expect(result).toMatchObject({ kind: 'error', message: expect.stringContaining('HTTP 500') });
    expect((result as { message: string }).message).toContain('broken on purpose');
  });

  it('says so when a jsonPath meets a body that is not JSON', async () => {
    const result = await measure({ url: host.url('/text'), jsonPath: '$.ok' });
    expect(result).toMatchObject({ kind: 'error', message: expect.stringContaining('did not answer JSON') });
  });
});

describe('web provider through the API server service proxy', () => {
  const service = { name: serviceName, port: servicePort, path: '/metrics.json' };

  it('returns the value at the jsonPath, with the cluster credentials of the kubeconfig', async () => {
    expect(await measure({ service, jsonPath: '$.requests' })).toEqual({
      kind: 'value',
      value: 100,
      noData: false,
    });
    // By port name as well as number.
    expect(await measure({ service: { ...service, port: 'http' }, jsonPath: '$.ok' })).toEqual({
      kind: 'value',
      value: true,
      noData: false,
    });
  });

  it('returns the whole JSON body without a jsonPath', async () => {
    expect(await measure({ service })).toEqual({ kind: 'value', value: metrics, noData: false });
  });

  it('passes method, headers and body through the proxy', async () => {
    const result = await measure({
      service: { ...service, path: '/echo' },
      method: 'POST',
      headers: [
        { name: 'Content-Type', value: 'application/json' },
        { name: 'X-Switchyard-Test', value: 'proxied' },
      ],
      body: '{"q":1}',
    });
    expect((result as { value: unknown }).value).toMatchObject({
      method: 'POST',
      headers: { 'x-switchyard-test': 'proxied', 'content-type': 'application/json' },
      body: '{"q":1}',
    });
  });

  it('turns the service answering 500 into an error with the status', async () => {
    const result = await measure({ service: { ...service, path: '/broken' } });
    expect(result).toMatchObject({ kind: 'error', message: expect.stringContaining('HTTP 500') });
  });

  it('turns a Service that does not exist into an error with the API server status', async () => {
    const result = await measure({ service: { ...service, name: 'no-such-service' } });
    expect(result).toMatchObject({ kind: 'error', message: expect.stringContaining('HTTP 404') });
  });
});

providerContract({
  name: 'web',
  provider: webProvider,
  working: async () => ({
    config: webConfigSchema.parse({
      service: { name: serviceName, port: servicePort, path: '/metrics.json' },
      jsonPath: '$.errors',
    }),
    ctx: ctx(),
  }),
  // Nothing listens on port 9 in the namespace: the connection is refused at once.
  unreachable: async () => ({
    config: webConfigSchema.parse({ url: `http://${host.address}:9/metrics.json`, timeoutSeconds: 5 }),
    ctx: ctx(),
  }),
});
