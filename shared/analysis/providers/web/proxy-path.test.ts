import { describe, expect, it } from 'vitest';
import { proxyEscape, servicePathRefusal } from './proxy-path.ts';

describe('service proxy paths', () => {
  it.each([
    '/metrics',
    '/',
    '/status/',
    '/api/v1/query?query=up&x=../..',
    '/a.b/c..d/...',
    '/percent%25sign',
    '/q?path=%2e%2e',
  ])('%s is proxied', (path) => {
    expect(servicePathRefusal(path)).toBeUndefined();
  });

  it.each([
    ['/../../../../apis/apps/v1/namespaces/kube-system/deployments', /"\.\." segments/],
    ['/..', /"\.\."/],
    ['/./metrics', /"\."/],
    ['/%2e%2e/%2e%2e/apis', /after 1 decoding/],
    ['/%2E./x', /after 1 decoding/],
    ['/.%2E/x', /after 1 decoding/],
    ['/%252e%252e/x', /after 2 decoding/],
    ['/a/..%2fsecrets', /"\.\."/],
    ['/a%2f..%2f..%2fb', /"\.\."/],
    ['/..\\..\\apis', /backslashes/],
    ['/a%5c..%5cb', /backslashes/],
    ['/a%255c..', /backslashes/],
    ['/..%3fx', /"\.\."/],
    ['/%zz', /malformed/],
    ['/a b', /spaces/],
    ['/a\r\nHost: x', /control/],
  ])('%s is refused', (path, why) => {
    expect(servicePathRefusal(path)).toMatch(why);
  });

  it('checks the URL as sent is still the proxy of the Service', () => {
    const prefix = '/api/v1/namespaces/team-a/services/web:80/proxy';
    expect(proxyEscape('https://k8s:6443', prefix, `https://k8s:6443${prefix}/metrics`)).toBeUndefined();
    expect(proxyEscape('https://k8s:6443/', prefix, `https://k8s:6443${prefix}`)).toBeUndefined();
    expect(proxyEscape('https://r/k8s/c1', prefix, `https://r/k8s/c1${prefix}/x`)).toBeUndefined();
    expect(proxyEscape('https://k8s:6443', prefix, `https://k8s:6443${prefix}/../../../../apis/x`)).toMatch(
      /outside the Service's proxy/,
    );
    expect(proxyEscape('https://k8s:6443', prefix, `https://k8s:6443${prefix}x/y`)).toMatch(/outside/);
  });
});
