import { KubeConfig } from '@kubernetes/client-node';
import { describe, expect, it } from 'vitest';
import type { MeasureContext } from '../../provider.ts';
import {
  createWebProvider,
  serviceProxyPath,
  type WebRequest,
  type WebResponse,
  type WebTransport,
} from './index.ts';
import { type WebConfigInput, webConfigSchema } from './schema.ts';

function kubeConfig(server = 'https://127.0.0.1:6443'): KubeConfig {
  const kc = new KubeConfig();
  kc.loadFromOptions({
    clusters: [{ name: 'c', server, skipTLSVerify: true }],
    users: [{ name: 'u', token: 't' }],
    contexts: [{ name: 'x', cluster: 'c', user: 'u' }],
    currentContext: 'x',
  });
  return kc;
}

function ctx(over: Partial<MeasureContext> = {}): MeasureContext {
  return {
    namespace: 'shop',
    releaseId: 'r1',
    metric: 'errors',
    index: 0,
    run: 'pre',
    kubeConfig: kubeConfig(),
    googleToken: async () => 'token',
    now: () => 0,
    ...over,
  };
}

type Answer = { status?: number; body?: string; headers?: Record<string, string> } | Error;

/** A transport that records requests and answers each with `answer` (or throws it). */
function fakeTransport(answer: Answer) {
  const sent: { via: 'fetch' | 'kube'; request: WebRequest; kubeConfig?: KubeConfig }[] = [];
  const respond = async (): Promise<WebResponse> => {
    if (answer instanceof Error) throw answer;
    return {
      status: answer.status ?? 200,
      headers: answer.headers ?? { 'content-type': 'application/json' },
      text: async () => answer.body ?? '',
    };
  };
  const transport: WebTransport = {
    async fetch(request) {
      sent.push({ via: 'fetch', request });
      return respond();
    },
    async kubeFetch(kubeConfig, request) {
      sent.push({ via: 'kube', request, kubeConfig });
      return respond();
    },
  };
  return { transport, sent };
}

const metricsBody = JSON.stringify({
  errors: 3,
  requests: 100,
  ok: true,
  items: [{ value: 1.5 }],
  none: null,
});

async function measure(config: WebConfigInput, answer: Answer, context = ctx()) {
  const { transport, sent } = fakeTransport(answer);
  const result = await createWebProvider(transport).measure(webConfigSchema.parse(config), context);
  return { result, sent };
}

describe('web config', () => {
  it('applies defaults', () => {
    expect(webConfigSchema.parse({ url: 'http://x/m' })).toEqual({
      url: 'http://x/m',
      method: 'GET',
      timeoutSeconds: 10,
    });
  });

  it.each<[string, unknown]>([
    ['neither url nor service', {}],
    ['both url and service', { url: 'http://x/', service: { name: 's', port: 80, path: '/' } }],
    ['a non-http URL', { url: 'ftp://x/' }],
    ['a path without a leading slash', { service: { name: 's', port: 80, path: 'metrics' } }],
    ['a bad Service name', { service: { name: 'Bad_Name', port: 80, path: '/' } }],
    ['a port out of range', { service: { name: 's', port: 70000, path: '/' } }],
    ['a numeric port given as a string', { service: { name: 's', port: '80', path: '/' } }],
    ['an unknown field', { url: 'http://x/', query: 'up' }],
    ['an unknown method', { url: 'http://x/', method: 'DELETE' }],
    ['a body on GET', { url: 'http://x/', body: '{}' }],
    ['a bad JSONPath', { url: 'http://x/', jsonPath: '$.items[*]' }],
    ['a fractional timeout', { url: 'http://x/', timeoutSeconds: 1.5 }],
    ['an empty successStatus', { url: 'http://x/', successStatus: [] }],
    ['a bad header name', { url: 'http://x/', headers: [{ name: 'a b', value: 'c' }] }],
  ])('rejects %s', (_what, config) => {
    expect(webConfigSchema.safeParse(config).success).toBe(false);
  });

  it('accepts a named port and a scheme', () => {
    const c = webConfigSchema.parse({
      service: { name: 'web', port: 'http-metrics', path: '/m', scheme: 'https' },
    });
    expect(c.service?.port).toBe('http-metrics');
  });
});

describe('serviceProxyPath', () => {
  it('builds the API server proxy path, with the scheme when given, and keeps the path as written', () => {
    expect(serviceProxyPath('shop', { name: 'web', port: 8080, path: '/metrics.json' })).toBe(
      '/api/v1/namespaces/shop/services/web:8080/proxy/metrics.json',
    );
    expect(
      serviceProxyPath('shop', { name: 'web', port: 'metrics', path: '/q?a=1&b=2', scheme: 'https' }),
    ).toBe('/api/v1/namespaces/shop/services/https:web:metrics/proxy/q?a=1&b=2');
  });
});

describe('web provider', () => {
  it('sends a URL request with method, headers and body, and returns the value at jsonPath', async () => {
    const { result, sent } = await measure(
      {
        url: 'http://metrics.example/q',
        method: 'POST',
        headers: [
          { name: 'Content-Type', value: 'application/json' },
          { name: 'X-Key', value: 'k' },
        ],
        body: '{"q":"errors"}',
        jsonPath: '$.errors',
      },
      { body: metricsBody },
    );
    expect(result).toEqual({ kind: 'value', value: 3, noData: false });
    expect(sent).toHaveLength(1);
    expect(sent[0]!.via).toBe('fetch');
    expect(sent[0]!.request).toMatchObject({
      url: 'http://metrics.example/q',
      method: 'POST',
      headers: { 'Content-Type': 'application/json', 'X-Key': 'k' },
      body: '{"q":"errors"}',
    });
    expect(sent[0]!.request.signal).toBeInstanceOf(AbortSignal);
  });

  it('sends a service request to the API server of the context, through kubeFetch with its kubeConfig', async () => {
    const context = ctx({ kubeConfig: kubeConfig('https://k8s.example:6443/prefix/') });
    const { result, sent } = await measure(
      { service: { name: 'web-preview', port: 80, path: '/metrics.json' }, jsonPath: '$.items[0].value' },
      { body: metricsBody },
      context,
    );
    expect(result).toEqual({ kind: 'value', value: 1.5, noData: false });
    expect(sent[0]!.via).toBe('kube');
    expect(sent[0]!.kubeConfig).toBe(context.kubeConfig);
    expect(sent[0]!.request.url).toBe(
      'https://k8s.example:6443/prefix/api/v1/namespaces/shop/services/web-preview:80/proxy/metrics.json',
    );
    expect(sent[0]!.request.body).toBeUndefined();
  });

  it('returns the whole parsed body without a jsonPath; objects stay plain JSON', async () => {
    const { result } = await measure({ url: 'http://x/' }, { body: metricsBody });
    expect(result).toEqual({ kind: 'value', value: JSON.parse(metricsBody), noData: false });
    const { result: obj } = await measure(
      { url: 'http://x/', jsonPath: '$.items[0]' },
      { body: metricsBody },
    );
    expect(obj).toEqual({ kind: 'value', value: { value: 1.5 }, noData: false });
  });

  it('returns strings and booleans as they are', async () => {
    expect((await measure({ url: 'http://x/', jsonPath: '$.ok' }, { body: metricsBody })).result).toEqual({
      kind: 'value',
      value: true,
      noData: false,
    });
    expect((await measure({ url: 'http://x/', jsonPath: '$' }, { body: '"green"' })).result).toEqual({
      kind: 'value',
      value: 'green',
      noData: false,
    });
  });

  it('returns a plain-text body as a string when there is no jsonPath', async () => {
    const { result } = await measure(
      { url: 'http://x/' },
      { body: 'ok\n', headers: { 'content-type': 'text/plain' } },
    );
    expect(result).toEqual({ kind: 'value', value: 'ok\n', noData: false });
  });

  it('is noData when the path finds nothing, finds null, or the body is empty', async () => {
    const missing = (await measure({ url: 'http://x/', jsonPath: '$.latency.p99' }, { body: metricsBody }))
      .result;
    expect(missing).toMatchObject({ kind: 'value', value: null, noData: true });
    expect((missing as { message: string }).message).toContain('$["latency"]');
    expect((await measure({ url: 'http://x/', jsonPath: '$.none' }, { body: metricsBody })).result).toEqual({
      kind: 'value',
      value: null,
      noData: true,
    });
    expect((await measure({ url: 'http://x/' }, { body: 'null' })).result).toMatchObject({ noData: true });
    expect((await measure({ url: 'http://x/' }, { status: 204, body: '' })).result).toMatchObject({
      kind: 'value',
      noData: true,
    });
  });

  it('is an error, with the status and the start of the body, for a status that is not an answer', async () => {
    const { result } = await measure(
      { url: 'http://x/broken', jsonPath: '$.errors' },
      { status: 500, body: `{"error":"boom"}${' '.repeat(10)}${'x'.repeat(500)}` },
    );
    expect(result.kind).toBe('error');
    const message = (result as { message: string }).message;
    expect(message).toContain('HTTP 500');
    expect(message).toContain('http://x/broken');
    expect(message).toContain('boom');
    expect(message.length).toBeLessThan(400);
    expect((await measure({ url: 'http://x/' }, { status: 301 })).result.kind).toBe('error');
  });

  it('counts exactly the successStatus list as answers when given', async () => {
    const notFound = await measure(
      { url: 'http://x/', successStatus: [200, 404] },
      { status: 404, body: '{"a":1}' },
    );
    expect(notFound.result).toEqual({ kind: 'value', value: { a: 1 }, noData: false });
    const created = await measure({ url: 'http://x/', successStatus: [200] }, { status: 201, body: '{}' });
    expect(created.result).toMatchObject({ kind: 'error', message: expect.stringContaining('HTTP 201') });
  });

  it('is an error saying so when a jsonPath meets a body that is not JSON', async () => {
    const { result } = await measure(
      { url: 'http://x/', jsonPath: '$.errors' },
      { body: '<html>hi</html>', headers: { 'content-type': 'text/html' } },
    );
    expect(result.kind).toBe('error');
    expect((result as { message: string }).message).toMatch(
      /did not answer JSON \(content-type text\/html\).*\$\.errors/,
    );
  });

  it('is an error naming the cause when the request fails, and a timeout says so', async () => {
    const refused = new TypeError('fetch failed', {
      cause: Object.assign(new Error('connect ECONNREFUSED 10.0.0.1:80'), { code: 'ECONNREFUSED' }),
    });
    const { result } = await measure({ url: 'http://10.0.0.1/' }, refused);
    expect(result).toEqual({
      kind: 'error',
      message: 'web: GET http://10.0.0.1/ failed: fetch failed: connect ECONNREFUSED 10.0.0.1:80',
    });
    const timeout = new DOMException('The operation was aborted due to timeout', 'TimeoutError');
    const timedOut = await measure({ url: 'http://x/', timeoutSeconds: 3 }, timeout);
    expect(timedOut.result).toEqual({ kind: 'error', message: 'web: GET http://x/: no answer within 3 s' });
  });

  it('is an error when reading the body fails, and never throws', async () => {
    const transport: WebTransport = {
      fetch: async () => ({
        status: 200,
        headers: {},
        text: async () => {
          throw new Error('socket hang up');
        },
      }),
      kubeFetch: () => {
        throw new Error('synchronous throw');
      },
    };
    const provider = createWebProvider(transport);
    expect(await provider.measure(webConfigSchema.parse({ url: 'http://x/' }), ctx())).toMatchObject({
      kind: 'error',
      message: expect.stringContaining('socket hang up'),
    });
    const viaService = await provider.measure(
      webConfigSchema.parse({ service: { name: 's', port: 80, path: '/' } }),
      ctx(),
    );
    expect(viaService).toMatchObject({
      kind: 'error',
      message: expect.stringContaining('synchronous throw'),
    });
  });

  it('is an error when the kubeconfig has no current cluster', async () => {
    const { result, sent } = await measure(
      { service: { name: 's', port: 80, path: '/' } },
      { body: '{}' },
      ctx({ kubeConfig: new KubeConfig() }),
    );
    expect(result).toMatchObject({ kind: 'error', message: expect.stringContaining('no current cluster') });
    expect(sent).toHaveLength(0);
  });
});

describe('web requests stay inside what a target may reach (issue 11)', () => {
  const issues = (input: WebConfigInput) =>
    webConfigSchema.safeParse(input).error?.issues.map((i) => `${i.path.join('.')}: ${i.message}`) ?? [];

  it('refuses the metadata server, credential headers and proxy escapes at validate time, naming the field', () => {
    expect(
      issues({ url: 'http://169.254.169.254/computeMetadata/v1/instance/service-accounts/default/token' }),
    ).toEqual([
      "url: 169.254.169.254 is a cloud metadata server: Switchyard never sends requests there (no allow-list can open it); use the service's own address",
    ]);
    expect(issues({ url: 'http://metadata.google.internal/computeMetadata/v1/' })[0]).toMatch(
      /^url: metadata\.google\.internal is a cloud metadata server/,
    );
    expect(
      issues({ url: 'https://ok.example/', headers: [{ name: 'Metadata-Flavor', value: 'Google' }] }),
    ).toEqual([
      'headers.0.name: header Metadata-Flavor is not passed through (credentials and metadata-server headers are never sent for a target): remove it',
    ]);
    expect(
      issues({ url: 'https://ok.example/', headers: [{ name: 'authorization', value: 'x' }] }),
    ).toHaveLength(1);
    expect(
      issues({
        service: {
          name: 'web',
          port: 80,
          path: '/../../../../apis/apps/v1/namespaces/kube-system/deployments',
        },
      })[0],
    ).toMatch(/^service\.path: the path may not contain "\." or "\.\." segments/);
    expect(issues({ service: { name: 'web', port: 80, path: '/%2e%2e/%2E./x' } })[0]).toMatch(
      /^service\.path: /,
    );
    // Private and loopback literals depend on the installation's allow-list: checked when measuring.
    expect(issues({ url: 'http://10.0.0.7:8080/metrics' })).toEqual([]);
  });

  it('refuses a stored escape when measuring, and drops refused headers it still finds', async () => {
    const { transport, sent } = fakeTransport({ body: '{}' });
    const provider = createWebProvider(transport);
    const escaped = await provider.measure(
      {
        ...webConfigSchema.parse({ service: { name: 'web', port: 80, path: '/x' } }),
        service: { name: 'web', port: 80, path: '/%2e%2e/%2e%2e/secrets' },
      },
      ctx(),
    );
    expect(escaped).toMatchObject({
      kind: 'error',
      message: expect.stringMatching(
        /^web: service shop\/web:80\/%2e%2e\/%2e%2e\/secrets refused: the path may not contain/,
      ),
    });
    expect(sent).toHaveLength(0);
    await provider.measure(
      {
        ...webConfigSchema.parse({ url: 'https://ok.example/' }),
        headers: [
          { name: 'Authorization', value: 'Bearer stolen' },
          { name: 'X-Team', value: 'a' },
        ],
      },
      ctx(),
    );
    expect(sent[0]!.request.headers).toEqual({ 'X-Team': 'a' });
  });
});
