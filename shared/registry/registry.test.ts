// The registry check's logic: which hosts are asked (and get the token), and how a digest and a tag
// are judged. Registry answers are played by a fake hop sender; nothing leaves the process.
import { describe, expect, it } from 'vitest';
import { parseEgressAllow, publicOnly } from '../egress/policy.ts';
import { parsePush } from '../engine/intake.ts';
import { checkPushedImage, RegistryUnavailableError } from './check.ts';
import { sampleFor, sampleImage, sha256Digest } from './image.ts';
import {
  locateRepository,
  parseRegistryEndpoints,
  type RegistryEndpoints,
  trustedRegistryHost,
} from './trust.ts';

const hex = (c: string) => c.repeat(64);
const repo = 'us-docker.pkg.dev/acme/apps/api';

function pushOf(digest: string, tag?: string, repository = repo) {
  const p = parsePush({
    action: 'INSERT',
    digest: `${repository}@${digest}`,
    ...(tag ? { tag: `${repository}:${tag}` } : {}),
  });
  if (typeof p === 'string') throw new Error(p);
  return p;
}

/** A registry holding `manifests` (reference -> digest), recording every request it is sent. */
function fakeRegistry(manifests: Record<string, string>, status?: number) {
  const sent: { url: string; method: string; headers: Record<string, string> }[] = [];
  const send = async (r: { url: string; method: string; headers: Record<string, string> }) => {
    sent.push({ url: r.url, method: r.method, headers: r.headers });
    if (status) return new Response(null, { status });
    const reference = r.url.slice(r.url.lastIndexOf('/') + 1);
    const digest = manifests[reference];
    return digest
      ? new Response(null, { status: 200, headers: { 'docker-content-digest': digest } })
      : new Response(null, { status: 404 });
  };
  return { sent, send };
}

function options(
  send: ReturnType<typeof fakeRegistry>['send'],
  endpoints: RegistryEndpoints = new Map<string, string>(),
  policy = publicOnly,
) {
  return {
    endpoints,
    token: async () => 'ya29.token',
    timeoutMs: 5000,
    egress: { policy, send: send as never },
  };
}

describe('registry host trust', () => {
  it("trusts Artifact Registry's and Container Registry's hosts only", () => {
    for (const host of ['us-docker.pkg.dev', 'europe-west1-docker.pkg.dev', 'gcr.io', 'eu.gcr.io']) {
      expect(trustedRegistryHost(host), host).toBe(true);
    }
    for (const host of [
      'docker.io',
      'evil.example.com',
      'us-docker.pkg.dev.evil.example.com',
      'evilgcr.io',
      'gcr.io.evil.com',
      'docker.pkg.dev',
      '127.0.0.1:5000',
      'localhost',
      'us-docker.pkg.dev:443',
    ]) {
      expect(trustedRegistryHost(host), host).toBe(false);
    }
  });

  it('locates a repository on its host with the token, or on a mapped endpoint without it', () => {
    expect(locateRepository(repo, new Map())).toEqual({
      host: 'us-docker.pkg.dev',
      name: 'acme/apps/api',
      baseUrl: 'https://us-docker.pkg.dev',
      withToken: true,
    });
    const mapped = parseRegistryEndpoints('{"us-docker.pkg.dev":"http://127.0.0.1:5000"}');
    expect(locateRepository(repo, mapped)).toMatchObject({
      baseUrl: 'http://127.0.0.1:5000',
      withToken: false,
    });
    expect(locateRepository('evil.example.com/acme/api', mapped)).toEqual({
      refused: expect.stringMatching(/^evil\.example\.com\/acme\/api: not an Artifact Registry image/),
    });
  });

  it('refuses an endpoints setting that maps an untrusted host or is not JSON', () => {
    expect(() => parseRegistryEndpoints('{"evil.example.com":"http://127.0.0.1:1"}')).toThrow(
      /not an Artifact Registry/,
    );
    expect(() => parseRegistryEndpoints('{not json')).toThrow(/not JSON/);
    expect(() => parseRegistryEndpoints('us-docker.pkg.dev')).toThrow(/is not <registry host>=<URL>/);
    expect(() => parseRegistryEndpoints('evil.example.com=http://127.0.0.1:1')).toThrow(
      /not an Artifact Registry/,
    );
    expect([
      ...parseRegistryEndpoints('us-docker.pkg.dev=http://127.0.0.1:5000,gcr.io=https://m.example'),
    ]).toEqual([
      ['us-docker.pkg.dev', 'http://127.0.0.1:5000'],
      ['gcr.io', 'https://m.example'],
    ]);
    expect(() => parseRegistryEndpoints('{"gcr.io":"ftp://x"}')).toThrow(/http\(s\)/);
    expect(parseRegistryEndpoints(undefined).size).toBe(0);
  });
});

describe('registry check', () => {
  it('passes a digest the registry has, with the tag pointing at it; the token goes to the registry', async () => {
    const reg = fakeRegistry({ [hex('a')]: '', v2: `sha256:${hex('a')}` });
    reg.send = (async (r: { url: string; method: string; headers: Record<string, string> }) => {
      reg.sent.push(r);
      return new Response(null, { status: 200, headers: { 'docker-content-digest': `sha256:${hex('a')}` } });
    }) as never;
    expect(await checkPushedImage(pushOf(`sha256:${hex('a')}`, 'v2'), options(reg.send))).toBeNull();
    expect(reg.sent.map((s) => [s.method, s.url])).toEqual([
      ['HEAD', `https://us-docker.pkg.dev/v2/acme/apps/api/manifests/sha256:${hex('a')}`],
      ['HEAD', 'https://us-docker.pkg.dev/v2/acme/apps/api/manifests/v2'],
    ]);
    expect(reg.sent[0]?.headers.authorization).toBe('Bearer ya29.token');
    expect(reg.sent[0]?.headers.accept).toContain('application/vnd.oci.image.manifest.v1+json');
  });

  it('refuses a digest the registry does not have, without asking about the tag', async () => {
    const reg = fakeRegistry({ v2: `sha256:${hex('b')}` });
    const why = await checkPushedImage(pushOf(`sha256:${hex('a')}`, 'v2'), options(reg.send));
    expect(why).toBe(
      `refused: ${repo}@sha256:${hex('a')} is not in the registry (us-docker.pkg.dev has no manifest sha256:${hex('a')}): a forged or deleted push is not released`,
    );
    expect(reg.sent).toHaveLength(1);
  });

  it('refuses a tag that points at another digest, and a tag the registry does not have', async () => {
    const digest = `sha256:${hex('a')}`;
    const reg = fakeRegistry({ [digest]: digest, v2: `sha256:${hex('b')}` });
    expect(await checkPushedImage(pushOf(digest, 'v2'), options(reg.send))).toBe(
      `refused: tag v2 of ${repo} points at sha256:${hex('b')}, not at the pushed ${digest} (a stale or forged push): not released`,
    );
    expect(await checkPushedImage(pushOf(digest, 'v3'), options(reg.send))).toMatch(
      /^refused: tag v3 of .* is not in the registry/,
    );
    expect(await checkPushedImage(pushOf(digest), options(reg.send))).toBeNull();
  });

  it('refuses an untrusted host without sending it anything', async () => {
    const reg = fakeRegistry({});
    const why = await checkPushedImage(
      pushOf(`sha256:${hex('a')}`, 'v2', 'evil.example.com/acme/api'),
      options(reg.send),
    );
    expect(why).toMatch(/^refused: evil\.example\.com\/acme\/api: not an Artifact Registry image/);
    expect(reg.sent).toEqual([]);
  });

  it('sends a mapped endpoint no token', async () => {
    const digest = `sha256:${hex('a')}`;
    const reg = fakeRegistry({ [digest]: digest });
    const endpoints = parseRegistryEndpoints('{"us-docker.pkg.dev":"http://127.0.0.1:5000"}');
    expect(await checkPushedImage(pushOf(digest), options(reg.send, endpoints))).toMatch(
      /^refused: the registry is not reached: 127\.0\.0\.1 is a loopback address/,
    );
    expect(reg.sent).toEqual([]);
    const loopback = parseEgressAllow('127.0.0.0/8');
    expect(await checkPushedImage(pushOf(digest), options(reg.send, endpoints, loopback))).toBeNull();
    expect(reg.sent[0]?.url).toBe(`http://127.0.0.1:5000/v2/acme/apps/api/manifests/${digest}`);
    expect(reg.sent[0]?.headers.authorization).toBeUndefined();
  });

  it('names the missing role on 401/403 and fails (to be delivered again) on 5xx', async () => {
    const digest = `sha256:${hex('a')}`;
    expect(await checkPushedImage(pushOf(digest), options(fakeRegistry({}, 403).send))).toMatch(
      /HTTP 403.*roles\/artifactregistry\.reader/,
    );
    await expect(checkPushedImage(pushOf(digest), options(fakeRegistry({}, 503).send))).rejects.toThrow(
      RegistryUnavailableError,
    );
  });
});

describe('sample images', () => {
  it('are deterministic, and their digest is the sha256 of the manifest bytes', () => {
    const a = sampleImage(2);
    expect(sampleImage('2').digest).toBe(a.digest);
    expect(sha256Digest(a.manifest)).toBe(a.digest);
    expect(sampleImage(3).digest).not.toBe(a.digest);
    expect(sampleFor(a.digest)?.digest).toBe(a.digest);
    expect(sampleFor(`sha256:${hex('0')}`)).toBeNull();
  });
});
