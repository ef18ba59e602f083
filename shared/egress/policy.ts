// The egress policy: which addresses a request chosen by a target author (a `web` metric's URL, a
// Prometheus address, a webhook or Slack URL) may reach. Link-local, metadata, unspecified and
// multicast addresses are never reached; loopback, private, shared (100.64/10) and reserved ranges
// only where the installation's allow-list (SWITCHYARD_EGRESS_ALLOW) names them; everything else is
// the public internet and allowed. Pure: classification by ipaddr.js, no DNS here (see fetch.ts).
import ipaddr from 'ipaddr.js';

/** What an address is, as far as the policy cares. */
export type AddressClass =
  /** A cloud metadata server (GCE/AWS/Azure 169.254.169.254, AWS fd00:ec2::254, Alibaba 100.100.100.200, …). */
  | 'metadata'
  /** 169.254.0.0/16, fe80::/10: where metadata servers live; never routed off the host's link. */
  | 'link-local'
  /** 0.0.0.0/8, ::, multicast, broadcast: reach this host or many, never one server. */
  | 'unspecified'
  /** 127.0.0.0/8, ::1. */
  | 'loopback'
  /** 10/8, 172.16/12, 192.168/16, fc00::/7, 100.64/10 (carrier-grade NAT, GKE uses it). */
  | 'private'
  /** Other special-purpose ranges (benchmarking, documentation, 240/4, teredo, …). */
  | 'reserved'
  | 'public';

/** Classes no allow-list can open: a request there is refused whatever the installation says. */
const neverAllowed = new Set<AddressClass>(['metadata', 'link-local', 'unspecified']);

/** Metadata servers by address (beyond those in link-local ranges, which are refused anyway). */
const metadataAddresses = new Set(['169.254.169.254', '169.254.170.2', 'fd00:ec2::254', '100.100.100.200']);

/** Host names of metadata servers; a request to one is refused before any lookup. */
const metadataHosts = [
  'metadata.google.internal',
  'metadata.goog',
  'metadata',
  'instance-data',
  'instance-data.ec2.internal',
  'metadata.azure.internal',
];

/**
 * Request headers a target may not send: credentials (they would sit in the target's document for
 * every operator to read, or override the installation's own) and the headers metadata servers ask
 * for (GCE `Metadata-Flavor`, Azure `Metadata`, AWS IMDSv2 tokens).
 */
export const refusedHeaders = [
  'authorization',
  'proxy-authorization',
  'cookie',
  'metadata-flavor',
  'metadata',
  'x-google-metadata-request',
  'x-aws-ec2-metadata-token',
  'x-aws-ec2-metadata-token-ttl-seconds',
] as const;

/** Whether a target may send a header of this name (case-insensitive). */
export function headerRefused(name: string): boolean {
  return (refusedHeaders as readonly string[]).includes(name.toLowerCase());
}

/** Why a header is refused at validate time (the same words for every provider). */
export function refusedHeaderMessage(name: string): string {
  return `header ${name} is not passed through (credentials and metadata-server headers are never sent for a target): remove it`;
}

/** The installation's allow-list: address ranges and host names it lets requests reach. */
export interface EgressPolicy {
  ranges: { address: ipaddr.IPv4 | ipaddr.IPv6; bits: number; source: string }[];
  /** Exact host names, or `*.suffix` entries kept as `.suffix`. */
  hosts: string[];
  /** The allow-list as written, for messages. */
  source: string;
}

/** The variable that holds the allow-list, named in every refusal that it could lift. */
export const allowVariable = 'SWITCHYARD_EGRESS_ALLOW';

/** No allow-list: only public addresses. */
export const publicOnly: EgressPolicy = { ranges: [], hosts: [], source: '' };

/**
 * Parses an allow-list: entries separated by commas or white space, each a CIDR (`10.0.0.0/8`,
 * `::1/128`), an address (`10.1.2.3`), a host name (`prometheus.monitoring.svc`) or a host suffix
 * (`*.svc.cluster.local`). Throws naming the first entry that is none of these.
 */
export function parseEgressAllow(text: string | undefined): EgressPolicy {
  const policy: EgressPolicy = { ranges: [], hosts: [], source: (text ?? '').trim() };
  for (const entry of (text ?? '').split(/[\s,]+/).filter(Boolean)) {
    if (ipaddr.isValidCIDR(entry)) {
      const [address, bits] = ipaddr.parseCIDR(entry);
      policy.ranges.push({ address: unmap(address), bits: unmapBits(address, bits), source: entry });
    } else if (ipaddr.isValid(entry)) {
      const address = unmap(ipaddr.parse(entry));
      policy.ranges.push({ address, bits: address.kind() === 'ipv4' ? 32 : 128, source: entry });
    } else if (/^(\*\.)?([a-z0-9]([-a-z0-9]*[a-z0-9])?\.)*[a-z0-9]([-a-z0-9]*[a-z0-9])?$/i.test(entry)) {
      policy.hosts.push(entry.toLowerCase().replace(/^\*/, ''));
    } else {
      throw new Error(
        `${allowVariable}: "${entry}" is not a CIDR (10.0.0.0/8), an address, a host name or *.suffix`,
      );
    }
  }
  return policy;
}

/** A host name as compared: lower case, without the brackets of an IPv6 literal or a trailing dot. */
export function normaliseHost(host: string): string {
  return host
    .toLowerCase()
    .replace(/^\[(.*)\]$/, '$1')
    .replace(/\.+$/, '');
}

/** Whether `host` names a metadata server. */
export function isMetadataHost(host: string): boolean {
  const h = normaliseHost(host);
  return metadataHosts.some((m) => h === m || h.endsWith(`.${m}`));
}

/** IPv4-mapped IPv6 (::ffff:a.b.c.d) is the IPv4 address it carries. */
function unmap(address: ipaddr.IPv4 | ipaddr.IPv6): ipaddr.IPv4 | ipaddr.IPv6 {
  return address.kind() === 'ipv6' && (address as ipaddr.IPv6).isIPv4MappedAddress()
    ? (address as ipaddr.IPv6).toIPv4Address()
    : address;
}

function unmapBits(address: ipaddr.IPv4 | ipaddr.IPv6, bits: number): number {
  return address.kind() === 'ipv6' && (address as ipaddr.IPv6).isIPv4MappedAddress()
    ? Math.max(0, bits - 96)
    : bits;
}

/** The IPv4 address an IPv6 translation or tunnel address carries (NAT64, 6to4, SIIT), if any. */
function embeddedIPv4(address: ipaddr.IPv6): ipaddr.IPv4 | undefined {
  const range = address.range();
  const p = address.parts;
  if (range === 'rfc6052' || range === 'rfc6145') {
    return new ipaddr.IPv4([p[6]! >> 8, p[6]! & 0xff, p[7]! >> 8, p[7]! & 0xff]);
  }
  if (range === '6to4') return new ipaddr.IPv4([p[1]! >> 8, p[1]! & 0xff, p[2]! >> 8, p[2]! & 0xff]);
  return undefined;
}

/** The class of an IP address (v4 or v6, mapped or not). Throws on something that is not an address. */
export function classifyAddress(ip: string): AddressClass {
  const address = unmap(ipaddr.parse(normaliseHost(ip)));
  if (metadataAddresses.has(address.toNormalizedString()) || metadataAddresses.has(address.toString())) {
    return 'metadata';
  }
  if (address.kind() === 'ipv6') {
    const embedded = embeddedIPv4(address as ipaddr.IPv6);
    if (embedded) {
      const inner = classifyAddress(embedded.toString());
      return inner === 'public' ? 'public' : inner;
    }
  }
  switch (address.range()) {
    case 'unicast':
      return 'public';
    case 'linkLocal':
      return 'link-local';
    case 'unspecified':
    case 'multicast':
    case 'broadcast':
      return 'unspecified';
    case 'loopback':
      return 'loopback';
    case 'private':
    case 'uniqueLocal':
    case 'carrierGradeNat':
      return 'private';
    default:
      return 'reserved';
  }
}

const describeClass: Record<AddressClass, string> = {
  metadata: 'a cloud metadata server',
  'link-local': 'a link-local address (where metadata servers live)',
  unspecified: 'an unspecified, multicast or broadcast address',
  loopback: 'a loopback address',
  private: 'a private address',
  reserved: 'a special-purpose address',
  public: 'a public address',
};

/** Why a request may not go somewhere; `fix` says what to change. */
export interface EgressRefusal {
  message: string;
}

/**
 * Whether a request for `host` may connect to `ip` (one address `host` resolved to, or `host`
 * itself when it is an address). Returns the refusal, or undefined when allowed.
 */
export function checkAddress(policy: EgressPolicy, host: string, ip: string): EgressRefusal | undefined {
  const h = normaliseHost(host);
  const cls = classifyAddress(ip);
  if (cls === 'public') return undefined;
  const what =
    h === normaliseHost(ip)
      ? `${ip} is ${describeClass[cls]}`
      : `${h} resolves to ${ip}, ${describeClass[cls]}`;
  if (neverAllowed.has(cls)) {
    return {
      message: `${what}: Switchyard never sends requests there (no allow-list can open it); use the service's own address`,
    };
  }
  const address = unmap(ipaddr.parse(normaliseHost(ip)));
  const inRange = policy.ranges.some(
    (r) => r.address.kind() === address.kind() && address.match(r.address as never, r.bits),
  );
  const hostListed = policy.hosts.some((e) => (e.startsWith('.') ? h.endsWith(e) : h === e));
  if (inRange || hostListed) return undefined;
  return {
    message: `${what}, which this installation does not allow: add ${h === normaliseHost(ip) ? ip : `${h} (or ${ip})`} to ${allowVariable} to reach it`,
  };
}

/**
 * What can be refused before any lookup: a metadata host name, or an address literal no allow-list
 * opens. Used at validate time (where the installation's allow-list is not known, so private and
 * loopback literals pass and are checked when the request is made) and before each request.
 */
export function staticRefusal(url: string): EgressRefusal | undefined {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    return undefined; // the schema's own URL check reports it
  }
  const host = normaliseHost(parsed.hostname);
  if (isMetadataHost(host)) {
    return { message: `${host} is a cloud metadata server: Switchyard never sends requests there` };
  }
  if (!ipaddr.isValid(host)) return undefined;
  const refusal = checkAddress(publicOnly, host, host);
  return refusal && neverAllowed.has(classifyAddress(host)) ? refusal : undefined;
}
