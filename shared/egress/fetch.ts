// Requests to addresses a target author chose, under the egress policy (policy.ts). Each hop's host
// is checked before the request (metadata names, address literals), and a host name is resolved once
// by the connection's own `lookup`, which checks every address it got and hands the socket only
// those: what was checked is what is connected to, so a name that resolves differently a second time
// (DNS rebinding) cannot slip past. Redirects are followed here, one checked hop at a time, never by
// the HTTP client. Refused headers are dropped, and an answer is read up to a size limit.
import { lookup as dnsLookup, type LookupAddress } from 'node:dns';
import { readFile } from 'node:fs/promises';
import type { LookupFunction } from 'node:net';
import ipaddr from 'ipaddr.js';
import { Agent, fetch as undiciFetch } from 'undici';
import { egressConfig } from '../config.ts';
import { checkAddress, type EgressPolicy, headerRefused, parseEgressAllow, staticRefusal } from './policy.ts';

/** A request refused by the egress policy; its message names the address and what to change. */
export class EgressRefusedError extends Error {
  readonly kind = 'egress-refused';
}

/** Resolves a host name to every address it has (tests replace it). */
export type Resolver = (host: string) => Promise<LookupAddress[]>;

const dnsResolver: Resolver = (host) =>
  new Promise((resolve, reject) =>
    dnsLookup(host, { all: true, verbatim: true }, (err, addresses) =>
      err ? reject(err) : resolve(addresses),
    ),
  );

/** DNS, after the local stack's hosts file when there is one (SWITCHYARD_EGRESS_HOSTS_FILE). */
function installationResolver(hostsFile: string | undefined): Resolver {
  if (!hostsFile) return dnsResolver;
  return async (host) => {
    const hosts = JSON.parse(await readFile(hostsFile, 'utf8').catch(() => '{}')) as Record<string, string[]>;
    const listed = hosts[host.toLowerCase()];
    if (!listed) return dnsResolver(host);
    return listed.map((address) => ({ address, family: address.includes(':') ? 6 : 4 }));
  };
}

/**
 * A `net.connect` lookup that resolves once, refuses the connection when any address the name has
 * is refused by `policy`, and otherwise returns those very addresses.
 */
export function checkedLookup(policy: EgressPolicy, resolve: Resolver = dnsResolver): LookupFunction {
  return (hostname, options, callback) => {
    const cb = callback as (err: Error | null, address: string | LookupAddress[], family?: number) => void;
    resolve(hostname).then(
      (all) => {
        for (const a of all) {
          const refusal = checkAddress(policy, hostname, a.address);
          if (refusal) return cb(new EgressRefusedError(refusal.message), '');
        }
        const wanted = options.family === 4 || options.family === 6 ? options.family : 0;
        const usable = all.filter((a) => wanted === 0 || a.family === wanted);
        if (usable.length === 0) {
          const err = Object.assign(new Error(`getaddrinfo ENOTFOUND ${hostname}`), { code: 'ENOTFOUND' });
          return cb(err, '');
        }
        if (options.all) return cb(null, usable);
        return cb(null, usable[0]!.address, usable[0]!.family);
      },
      (err: Error) => cb(err, ''),
    );
  };
}

export interface EgressRequest {
  url: string;
  method: string;
  headers: Record<string, string>;
  body?: string;
  signal?: AbortSignal;
  /**
   * Headers Switchyard itself adds (e.g. a Google token for Google's endpoint): kept although their
   * names are refused for targets, and dropped when a redirect leaves the first origin.
   */
  ownHeaders?: Record<string, string>;
}

export interface EgressResponse {
  status: number;
  statusText: string;
  headers: Record<string, string>;
  /** The URL that answered (after redirects). */
  url: string;
  /** The body as text; rejects once it grows past the limit. */
  text(): Promise<string>;
}

/** Sends one hop without following redirects (tests replace it; default: undici with a checked lookup). */
export type HopSender = (request: EgressRequest, policy: EgressPolicy) => Promise<Response>;

export interface EgressOptions {
  policy: EgressPolicy;
  /** Redirects followed (each hop checked like the first); one more is an error. Default 3. */
  maxRedirects?: number;
  /** Longest body read. Default 1 MiB. */
  maxBodyBytes?: number;
  send?: HopSender;
}

const agents = new WeakMap<EgressPolicy, Agent>();

/** One connection pool per policy: every connection in it was made through the checked lookup. */
function agentFor(policy: EgressPolicy): Agent {
  let agent = agents.get(policy);
  if (!agent) {
    const hostsFile = policy === installation?.policy ? egressConfig().hostsFile : undefined;
    agent = new Agent({ connect: { lookup: checkedLookup(policy, installationResolver(hostsFile)) } });
    agents.set(policy, agent);
  }
  return agent;
}

const undiciSender: HopSender = async (request, policy) =>
  (await undiciFetch(request.url, {
    method: request.method,
    headers: request.headers,
    body: request.body ?? null,
    redirect: 'manual',
    dispatcher: agentFor(policy),
    ...(request.signal ? { signal: request.signal } : {}),
  })) as unknown as Response;

/** The request's headers without those a target may not send. */
export function withoutRefusedHeaders(headers: Record<string, string>): Record<string, string> {
  return Object.fromEntries(Object.entries(headers).filter(([name]) => !headerRefused(name)));
}

/** Refuses a hop before it is sent: not http(s), a metadata host, or an address literal the policy refuses. */
export function checkHop(policy: EgressPolicy, url: URL): void {
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new EgressRefusedError(`${url.protocol} URLs are not followed (only http and https)`);
  }
  const staticOne = staticRefusal(url.href);
  if (staticOne) throw new EgressRefusedError(staticOne.message);
  const host = url.hostname.replace(/^\[(.*)\]$/, '$1');
  if (ipaddr.isValid(host)) {
    const refusal = checkAddress(policy, host, host);
    if (refusal) throw new EgressRefusedError(refusal.message);
  }
}

/**
 * Sends `request` under `options.policy`, following up to `maxRedirects` redirects by hand (303, and
 * 301/302 after a POST, continue as GET without a body, as fetch does). Throws EgressRefusedError
 * for a refused hop (also when the refusal comes from the lookup), and what the HTTP client throws
 * for network faults and timeouts.
 */
export async function egressFetch(request: EgressRequest, options: EgressOptions): Promise<EgressResponse> {
  const send = options.send ?? undiciSender;
  const maxRedirects = options.maxRedirects ?? 3;
  const maxBodyBytes = options.maxBodyBytes ?? 1024 * 1024;
  const { ownHeaders, ...rest } = request;
  const origin = new URL(request.url).origin;
  let hop: EgressRequest = { ...rest, headers: withoutRefusedHeaders(request.headers) };
  for (let redirects = 0; ; redirects++) {
    const url = new URL(hop.url);
    checkHop(options.policy, url);
    let response: Response;
    try {
      const headers = url.origin === origin ? { ...hop.headers, ...ownHeaders } : hop.headers;
      response = await send({ ...hop, headers }, options.policy);
    } catch (err) {
      throw refusalIn(err) ?? err;
    }
    const location = response.headers.get('location');
    if (response.status >= 300 && response.status < 400 && location) {
      await response.body?.cancel().catch(() => undefined);
      if (redirects >= maxRedirects) {
        throw new EgressRefusedError(
          maxRedirects === 0
            ? `${url.host} answered with a redirect (HTTP ${response.status}), which is not followed here; point the URL at the final address`
            : `${url.host} redirected more than ${maxRedirects} time(s); point the URL at the final address`,
        );
      }
      const next = new URL(location, url);
      const asGet =
        response.status === 303 ||
        ((response.status === 301 || response.status === 302) && hop.method === 'POST');
      const { body: _body, ...bodiless } = hop;
      hop = asGet ? { ...bodiless, url: next.href, method: 'GET' } : { ...hop, url: next.href };
      continue;
    }
    const headers: Record<string, string> = {};
    response.headers.forEach((value, name) => {
      headers[name] = value;
    });
    return {
      status: response.status,
      statusText: response.statusText,
      headers,
      url: url.href,
      text: () => readCapped(response, maxBodyBytes, url),
    };
  }
}

/** The EgressRefusedError somewhere in a fetch error's cause chain (the lookup's refusal). */
function refusalIn(err: unknown): EgressRefusedError | undefined {
  for (let e = err as { cause?: unknown } | undefined, i = 0; e && i < 5; e = e.cause as never, i++) {
    if (e instanceof EgressRefusedError) return e;
    const inner = (e as { errors?: unknown[] }).errors; // AggregateError of autoSelectFamily
    const found = inner?.find((x) => x instanceof EgressRefusedError);
    if (found) return found as EgressRefusedError;
  }
  return undefined;
}

async function readCapped(response: Response, max: number, url: URL): Promise<string> {
  if (!response.body) return '';
  const reader = response.body.getReader();
  const chunks: Uint8Array[] = [];
  let size = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    size += value.byteLength;
    if (size > max) {
      await reader.cancel().catch(() => undefined);
      throw new EgressRefusedError(`${url.host} answered more than ${max} bytes; answer with less`);
    }
    chunks.push(value);
  }
  return Buffer.concat(chunks).toString('utf8');
}

let installation: { source: string | undefined; policy: EgressPolicy } | undefined;

/**
 * The installation's policy, from SWITCHYARD_EGRESS_ALLOW (through config()). Throws with the entry
 * when the allow-list cannot be read, so a typo refuses rather than opens.
 */
export function installationPolicy(): EgressPolicy {
  const source = egressConfig().allow;
  if (!installation || installation.source !== source) {
    installation = { source, policy: parseEgressAllow(source) };
  }
  return installation.policy;
}
