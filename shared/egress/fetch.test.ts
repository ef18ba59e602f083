import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { checkedLookup, type EgressRequest, egressFetch } from './fetch.ts';
import { parseEgressAllow, publicOnly } from './policy.ts';

const loopback = parseEgressAllow('127.0.0.0/8');
let server: Server;
let base: string;
const seen: { url: string; headers: Record<string, unknown>; method: string }[] = [];

beforeAll(async () => {
  server = createServer((req, res) => {
    seen.push({ url: req.url!, headers: req.headers, method: req.method! });
    const [path, query] = req.url!.split('?');
    if (path === '/to') {
      res.writeHead(302, { location: decodeURIComponent(query!.slice(2)) });
      return res.end();
    }
    if (path === '/loop') {
      res.writeHead(307, { location: '/loop' });
      return res.end();
    }
    if (path === '/big') return res.end('x'.repeat(5000));
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(JSON.stringify({ path }));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(() => new Promise<void>((r) => server.close(() => r())));

const get = (url: string, headers: Record<string, string> = {}): EgressRequest => ({
  url,
  method: 'GET',
  headers,
});

describe('egressFetch', () => {
  it('reaches an allowed address and drops refused headers', async () => {
    const res = await egressFetch(get(`${base}/ok`, { Authorization: 'Bearer x', 'X-Keep': 'y' }), {
      policy: loopback,
    });
    expect(res.status).toBe(200);
    expect(JSON.parse(await res.text())).toEqual({ path: '/ok' });
    expect(seen.at(-1)!.headers.authorization).toBeUndefined();
    expect(seen.at(-1)!.headers['x-keep']).toBe('y');
  });

  it('refuses loopback when the allow-list does not name it, naming the variable', async () => {
    await expect(egressFetch(get(`${base}/ok`), { policy: publicOnly })).rejects.toThrow(
      /127\.0\.0\.1 is a loopback address, which this installation does not allow: add 127\.0\.0\.1 to SWITCHYARD_EGRESS_ALLOW/,
    );
  });

  it('checks the addresses a host name resolves to when it connects (localhost is loopback)', async () => {
    const url = `${base.replace('127.0.0.1', 'localhost')}/ok`;
    await expect(egressFetch(get(url), { policy: publicOnly })).rejects.toThrow(
      /localhost resolves to (127\.0\.0\.1|::1), a loopback address/,
    );
  });

  it('checks every redirect hop: a redirect to the metadata server is refused before it is sent', async () => {
    const target = 'http://169.254.169.254/computeMetadata/v1/instance/service-accounts/default/token';
    await expect(
      egressFetch(get(`${base}/to?u=${encodeURIComponent(target)}`, { 'Metadata-Flavor': 'Google' }), {
        policy: loopback,
      }),
    ).rejects.toThrow(/169\.254\.169\.254 is a cloud metadata server: Switchyard never sends requests there/);
  });

  it('follows a few redirects, then gives up', async () => {
    const res = await egressFetch(get(`${base}/to?u=${encodeURIComponent('/final')}`), { policy: loopback });
    expect(JSON.parse(await res.text())).toEqual({ path: '/final' });
    await expect(egressFetch(get(`${base}/loop`), { policy: loopback })).rejects.toThrow(
      /redirected more than 3 time/,
    );
  });

  it('reads an answer only up to the limit', async () => {
    const res = await egressFetch(get(`${base}/big`), { policy: loopback, maxBodyBytes: 1000 });
    await expect(res.text()).rejects.toThrow(/answered more than 1000 bytes/);
  });
});

describe('the checked lookup', () => {
  const lookup = (
    policy = loopback,
    addresses = [{ address: '169.254.169.254', family: 4 }],
    options: { all?: boolean; family?: number } = { all: true },
  ) =>
    new Promise<unknown>((resolve, reject) =>
      checkedLookup(policy, async () => addresses)('rebind.example', options as never, (err, address) =>
        err ? reject(err) : resolve(address),
      ),
    );

  it('refuses a name when any of its addresses is refused', async () => {
    await expect(lookup()).rejects.toThrow(/rebind\.example resolves to 169\.254\.169\.254/);
    await expect(
      lookup(loopback, [
        { address: '8.8.8.8', family: 4 },
        { address: '10.0.0.1', family: 4 },
      ]),
    ).rejects.toThrow(/10\.0\.0\.1, a private address/);
  });

  it('hands the socket exactly the addresses it checked', async () => {
    const ok = [
      { address: '8.8.8.8', family: 4 },
      { address: '2001:4860:4860::8888', family: 6 },
    ];
    expect(await lookup(publicOnly, ok)).toEqual(ok);
    expect(await lookup(publicOnly, ok, { family: 6 })).toBe('2001:4860:4860::8888');
  });
});
