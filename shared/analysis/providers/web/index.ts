// The `web` metric provider: one HTTP request, its JSON answer (or the value at a JSONPath in it) as
// the measurement. With `service`, the request goes through the target cluster's API server service
// proxy, so a preview Service that has no external address can be measured with the cluster's own
// credentials. Every fault (refused, timed out, unexpected status, not JSON) is a `kind: 'error'`
// result; nothing throws.
import { IsomorphicFetchHttpLibrary, type KubeConfig, RequestContext } from '@kubernetes/client-node';
import {
  EgressRefusedError,
  egressFetch,
  installationPolicy,
  withoutRefusedHeaders,
} from '../../../egress/fetch.ts';
import type { EgressPolicy } from '../../../egress/policy.ts';
import type { MeasureContext, MetricProvider, ProviderResult } from '../../provider.ts';
import { evaluateJsonPath, parseJsonPath } from './jsonpath.ts';
import { proxyEscape, servicePathRefusal } from './proxy-path.ts';
import type { WebConfig } from './schema.ts';

export { type WebConfig, type WebConfigInput, webConfigSchema } from './schema.ts';

/** One request as the provider sends it. */
export interface WebRequest {
  url: string;
  method: WebConfig['method'];
  headers: Record<string, string>;
  body?: string;
  signal: AbortSignal;
}

/** The part of an HTTP response the provider reads. */
export interface WebResponse {
  status: number;
  headers: Record<string, string>;
  text(): Promise<string>;
}

/** The two ways out; tests replace them, production uses `defaultWebTransport`. */
export interface WebTransport {
  /** Sends a request to a plain URL. */
  fetch(request: WebRequest): Promise<WebResponse>;
  /** Sends a request to the API server of `kubeConfig`'s current cluster, with its credentials. */
  kubeFetch(kubeConfig: KubeConfig, request: WebRequest): Promise<WebResponse>;
}

/** Longest part of a response body quoted in a message (they end up in stored measurements). */
const quoteLimit = 200;

/**
 * Creates the `web` provider. `measure` sends one request and returns `value` (the JSON value at
 * `jsonPath`, or the whole parsed body, or the text of a non-JSON body without a `jsonPath`) or
 * `error`; `noData` when the path finds nothing, or finds null, or the body is empty. Never returns
 * `running`, so there is no `resume`; creates nothing, so there is no `cleanup`. Never throws.
 */
export function createWebProvider(transport: WebTransport = defaultWebTransport): MetricProvider<WebConfig> {
  return {
    async measure(config, ctx) {
      try {
        return await measureOnce(transport, config, ctx);
      } catch (err) {
        // Belt and braces: measureOnce handles every fault it knows of; anything else is still a result.
        return { kind: 'error', message: `web: unexpected failure: ${describeError(err)}` };
      }
    },
  };
}

async function measureOnce(
  transport: WebTransport,
  config: WebConfig,
  ctx: MeasureContext,
): Promise<ProviderResult> {
  const path = config.jsonPath === undefined ? undefined : parseJsonPath(config.jsonPath);
  if (path && 'error' in path) return { kind: 'error', message: path.error };

  // Refused at validate time; dropped here too, for targets stored before that rule.
  const headers = withoutRefusedHeaders(
    Object.fromEntries((config.headers ?? []).map((h) => [h.name, h.value])),
  );
  const timeoutMs = config.timeoutSeconds * 1000;
  const request = (url: string): WebRequest => ({
    url,
    method: config.method,
    headers,
    ...(config.body === undefined ? {} : { body: config.body }),
    signal: AbortSignal.timeout(timeoutMs),
  });

  let target: string;
  let send: () => Promise<WebResponse>;
  if (config.service) {
    const server = ctx.kubeConfig.getCurrentCluster()?.server;
    if (!server) return { kind: 'error', message: 'web: the kubeconfig has no current cluster' };
    target = `service ${ctx.namespace}/${config.service.name}:${config.service.port}${config.service.path}`;
    const refusal = servicePathRefusal(config.service.path);
    if (refusal) return { kind: 'error', message: `web: ${target} refused: ${refusal}` };
    const proxyPath = serviceProxyPath(ctx.namespace, config.service);
    const url = `${server.replace(/\/+$/, '')}${proxyPath}`;
    const outside = proxyEscape(server, serviceProxyPrefix(ctx.namespace, config.service), url);
    if (outside) return { kind: 'error', message: `web: ${target} refused: ${outside}` };
    const req = request(url);
    send = () => transport.kubeFetch(ctx.kubeConfig, req);
  } else {
    target = config.url!;
    const req = request(config.url!);
    send = () => transport.fetch(req);
  }

  let response: WebResponse;
  let text: string;
  try {
    // The body is read under the same deadline: a server that sends headers and then stalls is as
    // unreachable as one that never answers.
    response = await send();
    text = await response.text();
  } catch (err) {
    if (err instanceof EgressRefusedError) {
      return { kind: 'error', message: `web: ${config.method} ${target} refused: ${err.message}` };
    }
    if (isTimeout(err)) {
      return {
        kind: 'error',
        message: `web: ${config.method} ${target}: no answer within ${config.timeoutSeconds} s`,
      };
    }
    return { kind: 'error', message: `web: ${config.method} ${target} failed: ${describeError(err)}` };
  }

  const answered = config.successStatus
    ? config.successStatus.includes(response.status)
    : response.status >= 200 && response.status < 300;
  if (!answered) {
    return {
      kind: 'error',
      message: `web: ${config.method} ${target} answered HTTP ${response.status}${quoteBody(text)}`,
    };
  }

  const parsed = parseJson(text);
  if (!path) {
    if (parsed.ok) return valueResult(parsed.value);
    // Without a JSONPath a plain-text answer ("ok", "42") is still a value the conditions can test.
    return text.length === 0
      ? { kind: 'value', value: null, noData: true, message: 'empty response body' }
      : { kind: 'value', value: text, noData: false };
  }
  if (!parsed.ok) {
    const type = response.headers['content-type'];
    return {
      kind: 'error',
      message: `web: ${target} did not answer JSON${type ? ` (content-type ${type})` : ''}, so jsonPath ${path.source} cannot apply${quoteBody(text)}`,
    };
  }
  const found = evaluateJsonPath(parsed.value, path);
  if (!found.found) {
    return {
      kind: 'value',
      value: null,
      noData: true,
      message: `jsonPath ${path.source}: nothing at ${found.missing}`,
    };
  }
  return valueResult(found.value);
}

/**
 * The API server path that proxies to `service` in `namespace`:
 * `/api/v1/namespaces/{ns}/services/{scheme:}{name}:{port}/proxy{path}`. The service path is kept as
 * written (it may carry a query string); only the name parts are encoded.
 */
export function serviceProxyPath(namespace: string, service: NonNullable<WebConfig['service']>): string {
  return `${serviceProxyPrefix(namespace, service)}${service.path}`;
}

/** The proxy path of the Service itself, without the service path: every request must stay under it. */
export function serviceProxyPrefix(namespace: string, service: NonNullable<WebConfig['service']>): string {
  // Name, port and scheme are restricted by the schema to characters that need no escaping; the
  // colons stay literal, as kubectl writes them.
  const scheme = service.scheme ? `${service.scheme}:` : '';
  return `/api/v1/namespaces/${encodeURIComponent(namespace)}/services/${scheme}${service.name}:${service.port}/proxy`;
}

function valueResult(value: unknown): ProviderResult {
  return value === null || value === undefined
    ? { kind: 'value', value: null, noData: true }
    : { kind: 'value', value, noData: false };
}

function parseJson(text: string): { ok: true; value: unknown } | { ok: false } {
  try {
    return { ok: true, value: JSON.parse(text) };
  } catch {
    return { ok: false };
  }
}

function quoteBody(text: string): string {
  const trimmed = text.trim();
  if (trimmed.length === 0) return '';
  return `: ${trimmed.length > quoteLimit ? `${trimmed.slice(0, quoteLimit)}…` : trimmed}`;
}

function isTimeout(err: unknown): boolean {
  const name = (err as { name?: unknown } | null)?.name;
  return name === 'TimeoutError' || name === 'AbortError';
}

/** The message of an error and of its cause (fetch hides ECONNREFUSED and the like in `cause`). */
function describeError(err: unknown): string {
  if (!(err instanceof Error)) return String(err);
  const cause = err.cause instanceof Error ? err.cause : undefined;
  const code = (cause as { code?: unknown } | undefined)?.code;
  if (!cause) return err.message;
  return `${err.message}: ${cause.message}${typeof code === 'string' && !cause.message.includes(code) ? ` (${code})` : ''}`;
}

/**
 * client-node's RequestContext drops a trailing "/" from the URL (harmless for API paths, wrong for a
 * proxied `path: /` or `/status/`, which the proxy would then send to a different path).
 */
class ExactUrlRequest extends RequestContext {
  readonly #url: string;
  constructor(url: string, method: WebRequest['method']) {
    super(url, method);
    this.#url = url;
  }
  override getUrl(): string {
    return this.#url;
  }
}

const kubeFetch: WebTransport['kubeFetch'] = async (kubeConfig, request) => {
  const context = new ExactUrlRequest(request.url, request.method);
  for (const [name, value] of Object.entries(request.headers)) context.setHeaderParam(name, value);
  if (request.body !== undefined) context.setBody(request.body);
  context.setSignal(request.signal);
  // After the caller's headers: with a bearer-token kubeconfig, Authorization is the API server's.
  await kubeConfig.applySecurityAuthentication(context);
  const res = await new IsomorphicFetchHttpLibrary().send(context).toPromise();
  return { status: res.httpStatusCode, headers: res.headers, text: () => res.body.text() };
};

/**
 * The real transport. Plain URLs go through the egress policy (shared/egress): every address and
 * redirect hop checked, the connection made to the checked address, the answer read up to 1 MiB. API server requests go through the
 * client library's own HTTP stack: `applySecurityAuthentication` puts the cluster CA, the client
 * certificate or the bearer token (including exec and GCP auth plugins) on the request as an undici
 * dispatcher and headers, and that dispatcher must be used by the same undici that client-node
 * bundles, which is what `IsomorphicFetchHttpLibrary` sends with. (client-node 2.x has no
 * `applyToFetchOptions`; the generated `connectGetNamespacedServiceProxyWithPath` does GET only,
 * cannot send headers or a body, and turns non-2xx into exceptions without the status we report.)
 */
export function webTransport(policy: () => EgressPolicy): WebTransport {
  return {
    async fetch(request) {
      return egressFetch(request, { policy: policy() });
    },
    kubeFetch,
  };
}

/** The real transport under the installation's egress policy (SWITCHYARD_EGRESS_ALLOW). */
export const defaultWebTransport: WebTransport = webTransport(installationPolicy);

/** The `web` provider with the real network. */
export const webProvider: MetricProvider<WebConfig> = createWebProvider();
