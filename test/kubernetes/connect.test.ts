// connect(): a GKE cluster is looked up through a fake Container API on a local HTTP server and
// turned into an in-memory KubeConfig; a kubeconfig context is picked from a file. No Google
// credentials: tokens come from an injected provider.
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { type AccessToken, connect, tokenRefreshMarginMs } from '../../shared/kubernetes/connect.ts';

const clusterName = 'projects/acme/locations/us-central1/clusters/prod';
const caPem = '-----BEGIN CERTIFICATE-----\nMIIfake\n-----END CERTIFICATE-----\n';

interface SeenRequest {
  method: string | undefined;
  url: string | undefined;
  headers: IncomingHttpHeaders;
}

/** A fake Container API: answers clusters.get from `clusters`, 404 for anything else. */
async function fakeContainerApi(clusters: Record<string, { status: number; body: unknown }>) {
  const seen: SeenRequest[] = [];
  const server: Server = createServer((req, res) => {
    seen.push({ method: req.method, url: req.url, headers: req.headers });
    const path = new URL(req.url ?? '/', 'http://x').pathname;
    const answer = clusters[path] ?? { status: 404, body: { error: { code: 404, message: 'not found' } } };
    res.writeHead(answer.status, { 'content-type': 'application/json' });
    res.end(JSON.stringify(answer.body));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return { root: `http://127.0.0.1:${port}/`, seen, close: () => new Promise((r) => server.close(r)) };
}

/** A token provider that hands out tok-1, tok-2, … each valid for an hour from the fake clock. */
function countingTokens(clock: { now: number }) {
  const provider = async (): Promise<AccessToken> => {
    provider.calls++;
    return { token: `tok-${provider.calls}`, expiresAt: clock.now + 3_600_000 };
  };
  provider.calls = 0;
  return provider;
}

/** The Authorization header and CA a request made through `kc` would carry. */
async function requestOptions(kc: Awaited<ReturnType<typeof connect>>) {
  const opts: { headers?: Record<string, string>; ca?: Buffer } = {};
  await kc.applyToHTTPSOptions(opts);
  return { authorization: opts.headers?.Authorization, ca: opts.ca?.toString() };
}

describe('connect to GKE', () => {
  let api: Awaited<ReturnType<typeof fakeContainerApi>>;

  beforeAll(async () => {
    api = await fakeContainerApi({
      [`/v1/${clusterName}`]: {
        status: 200,
        body: {
          name: 'prod',
          status: 'RUNNING',
          endpoint: '203.0.113.10',
          masterAuth: { clusterCaCertificate: Buffer.from(caPem).toString('base64') },
        },
      },
      '/v1/projects/acme/locations/us-central1/clusters/secret': {
        status: 403,
        body: { error: { code: 403, message: 'Permission denied on resource', status: 'PERMISSION_DENIED' } },
      },
    });
  });
  afterAll(() => api.close());

  test('builds a KubeConfig from clusters.get with the cluster CA and a bearer token', async () => {
    const clock = { now: 1_000_000 };
    const tokens = countingTokens(clock);
    const kc = await connect({ gke: clusterName }, undefined, {
      containerApiRoot: api.root,
      tokenProvider: tokens,
      now: () => clock.now,
    });

    const request = api.seen.find((r) => r.url?.startsWith(`/v1/${clusterName}`));
    expect(request?.method).toBe('GET');
    expect(request?.headers.authorization).toBe('Bearer tok-1');

    const cluster = kc.getCurrentCluster();
    expect(cluster?.server).toBe('https://203.0.113.10');
    expect(cluster?.skipTLSVerify).toBe(false);
    expect(await requestOptions(kc)).toEqual({ authorization: 'Bearer tok-1', ca: caPem });
    expect(tokens.calls).toBe(1);
  });

  test('reuses the token until less than 5 minutes are left, then fetches a new one', async () => {
    const clock = { now: 5_000_000 };
    const tokens = countingTokens(clock);
    const kc = await connect({ gke: clusterName }, undefined, {
      containerApiRoot: api.root,
      tokenProvider: tokens,
      now: () => clock.now,
    });
    const issuedAt = clock.now;

    clock.now = issuedAt + 3_600_000 - tokenRefreshMarginMs - 1_000;
    expect((await requestOptions(kc)).authorization).toBe('Bearer tok-1');
    expect(tokens.calls).toBe(1);

    clock.now = issuedAt + 3_600_000 - tokenRefreshMarginMs + 1_000;
    const [a, b] = await Promise.all([requestOptions(kc), requestOptions(kc)]);
    expect([a.authorization, b.authorization]).toEqual(['Bearer tok-2', 'Bearer tok-2']);
    expect(tokens.calls).toBe(2);

    // A second connect to the same cluster with the same provider shares the cached token.
    await connect({ gke: clusterName }, undefined, {
      containerApiRoot: api.root,
      tokenProvider: tokens,
      now: () => clock.now,
    });
    expect(tokens.calls).toBe(2);
  });

  test('rejects a malformed cluster name before any request', async () => {
    const before = api.seen.length;
    await expect(
      connect({ gke: 'projects/acme/clusters/prod' }, undefined, {
        containerApiRoot: api.root,
        tokenProvider: countingTokens({ now: 0 }),
      }),
    ).rejects.toMatchObject({
      kind: 'invalid',
      message: expect.stringContaining('expected projects/PROJECT/locations/LOCATION/clusters/CLUSTER'),
    });
    expect(api.seen.length).toBe(before);
  });

  test('classifies a missing and a forbidden cluster', async () => {
    const opts = { containerApiRoot: api.root, tokenProvider: countingTokens({ now: 0 }) };
    await expect(
      connect({ gke: 'projects/acme/locations/us-central1/clusters/gone' }, undefined, opts),
    ).rejects.toMatchObject({ kind: 'not-found', status: 404 });
    await expect(
      connect({ gke: 'projects/acme/locations/us-central1/clusters/secret' }, undefined, opts),
    ).rejects.toMatchObject({ kind: 'forbidden', status: 403 });
  });
});

describe('connect to a kubeconfig context', () => {
  let dir: string;
  let path: string;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'switchyard-connect-'));
    path = join(dir, 'config');
    await writeFile(
      path,
      [
        'apiVersion: v1',
        'kind: Config',
        'clusters:',
        '- {name: one, cluster: {server: "https://one.example:6443"}}',
        '- {name: two, cluster: {server: "https://two.example:6443"}}',
        'users:',
        '- {name: u, user: {token: abc}}',
        'contexts:',
        '- {name: a, context: {cluster: one, user: u}}',
        '- {name: b, context: {cluster: two, user: u}}',
        'current-context: a',
      ].join('\n'),
    );
  });
  afterAll(() => rm(dir, { recursive: true, force: true }));

  test('uses the named context of the given file', async () => {
    const kc = await connect({ context: 'b' }, path);
    expect(kc.getCurrentContext()).toBe('b');
    expect(kc.getCurrentCluster()?.server).toBe('https://two.example:6443');
  });

  test('honours $KUBECONFIG without a path', async () => {
    const saved = process.env.KUBECONFIG;
    process.env.KUBECONFIG = path;
    try {
      const kc = await connect({ context: 'b' });
      expect(kc.getCurrentCluster()?.server).toBe('https://two.example:6443');
    } finally {
      if (saved === undefined) delete process.env.KUBECONFIG;
      else process.env.KUBECONFIG = saved;
    }
  });

  test('lists the contexts there are when the named one is missing', async () => {
    await expect(connect({ context: 'c' }, path)).rejects.toMatchObject({
      kind: 'invalid',
      message: expect.stringContaining('has no context "c" (contexts: "a", "b")'),
    });
  });
});
