import { describe, expect, it } from 'vitest';
import {
  checkAddress,
  classifyAddress,
  headerRefused,
  isMetadataHost,
  parseEgressAllow,
  publicOnly,
  staticRefusal,
} from './policy.ts';

describe('address classification', () => {
  it.each([
    ['169.254.169.254', 'metadata'],
    ['fd00:ec2::254', 'metadata'],
    ['100.100.100.200', 'metadata'],
    ['::ffff:169.254.169.254', 'metadata'],
    ['[::ffff:a9fe:a9fe]', 'metadata'],
    ['169.254.1.1', 'link-local'],
    ['fe80::1', 'link-local'],
    ['64:ff9b::a9fe:101', 'link-local'],
    ['2002:a9fe:101::1', 'link-local'],
    ['0.0.0.0', 'unspecified'],
    ['::', 'unspecified'],
    ['224.0.0.1', 'unspecified'],
    ['127.0.0.1', 'loopback'],
    ['127.9.9.9', 'loopback'],
    ['::1', 'loopback'],
    ['::ffff:127.0.0.1', 'loopback'],
    ['10.1.2.3', 'private'],
    ['172.16.0.1', 'private'],
    ['172.31.255.255', 'private'],
    ['192.168.1.1', 'private'],
    ['100.64.0.1', 'private'],
    ['fc00::1', 'private'],
    ['fd12:3456::1', 'private'],
    ['198.18.0.1', 'reserved'],
    ['172.32.0.1', 'public'],
    ['8.8.8.8', 'public'],
    ['2001:4860:4860::8888', 'public'],
  ])('%s is %s', (ip, cls) => {
    expect(classifyAddress(ip)).toBe(cls);
  });

  it('knows metadata host names, in any case and with a trailing dot', () => {
    expect(isMetadataHost('metadata.google.internal')).toBe(true);
    expect(isMetadataHost('METADATA.google.internal.')).toBe(true);
    expect(isMetadataHost('metadata')).toBe(true);
    expect(isMetadataHost('metadata.example.com')).toBe(false);
  });
});

describe('the allow-list', () => {
  const policy = parseEgressAllow('127.0.0.0/8, ::1 10.123.0.0/16,prometheus.monitoring.svc *.corp.internal');

  it('opens the ranges and hosts it names, and nothing else', () => {
    expect(checkAddress(policy, '127.0.0.1', '127.0.0.1')).toBeUndefined();
    expect(checkAddress(policy, '::1', '::1')).toBeUndefined();
    expect(checkAddress(policy, '10.123.4.5', '10.123.4.5')).toBeUndefined();
    expect(checkAddress(policy, 'prometheus.monitoring.svc', '10.9.9.9')).toBeUndefined();
    expect(checkAddress(policy, 'a.b.corp.internal', '192.168.0.4')).toBeUndefined();
    expect(checkAddress(policy, 'x.example', '8.8.8.8')).toBeUndefined();
    expect(checkAddress(policy, '10.124.0.1', '10.124.0.1')?.message).toBe(
      '10.124.0.1 is a private address, which this installation does not allow: add 10.124.0.1 to SWITCHYARD_EGRESS_ALLOW to reach it',
    );
    expect(checkAddress(publicOnly, 'localhost', '127.0.0.1')?.message).toBe(
      'localhost resolves to 127.0.0.1, a loopback address, which this installation does not allow: add localhost (or 127.0.0.1) to SWITCHYARD_EGRESS_ALLOW to reach it',
    );
  });

  it('never opens link-local or metadata addresses, whatever it names', () => {
    const wide = parseEgressAllow('0.0.0.0/0,::/0,169.254.0.0/16,fc00::/7,evil.example');
    expect(checkAddress(wide, 'evil.example', '169.254.169.254')?.message).toBe(
      "evil.example resolves to 169.254.169.254, a cloud metadata server: Switchyard never sends requests there (no allow-list can open it); use the service's own address",
    );
    expect(checkAddress(wide, 'fd00:ec2::254', 'fd00:ec2::254')).toBeDefined();
    expect(checkAddress(wide, 'fe80::1', 'fe80::1')).toBeDefined();
    expect(checkAddress(wide, '0.0.0.0', '0.0.0.0')).toBeDefined();
    expect(checkAddress(wide, 'fc00::1', 'fc00::1')).toBeUndefined();
  });

  it('refuses an entry it cannot read, naming it', () => {
    expect(() => parseEgressAllow('10.0.0.0/8,http://x')).toThrow(
      'SWITCHYARD_EGRESS_ALLOW: "http://x" is not a CIDR (10.0.0.0/8), an address, a host name or *.suffix',
    );
    expect(parseEgressAllow(undefined)).toEqual(publicOnly);
  });
});

describe('what is refused without a lookup (validate time)', () => {
  it.each([
    'http://169.254.169.254/computeMetadata/v1/instance/service-accounts/default/token',
    'http://metadata.google.internal/computeMetadata/v1/',
    'http://metadata/computeMetadata/v1/',
    'http://[fd00:ec2::254]/latest/meta-data/',
    'http://[::ffff:169.254.169.254]/',
    'http://0xa9fea9fe/',
    'http://2852039166/',
    'http://0.0.0.0:8080/',
    'http://[fe80::1]/',
  ])('%s', (url) => {
    expect(staticRefusal(url)?.message).toMatch(/never sends requests there/);
  });

  it('leaves private and loopback literals and host names to the request', () => {
    expect(staticRefusal('http://127.0.0.1:9090/')).toBeUndefined();
    expect(staticRefusal('http://10.0.0.1/')).toBeUndefined();
    expect(staticRefusal('https://prometheus.example.com/')).toBeUndefined();
  });

  it('refuses credential and metadata headers by name, in any case', () => {
    for (const h of ['Authorization', 'proxy-authorization', 'Cookie', 'Metadata-Flavor', 'metadata'])
      expect(headerRefused(h)).toBe(true);
    expect(headerRefused('X-Api-Key')).toBe(false);
  });
});
