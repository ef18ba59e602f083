import type { V1Ingress } from '@kubernetes/client-node';
import { describe, expect, test } from 'vitest';
import {
  backendService,
  httpRouteReferences,
  ingressReferences,
  nginxAnnotations,
  type RouteReference,
  servingReason,
  throughRoutes,
} from './guard.ts';
import { labels } from './types.ts';

const ns = 'shop';

describe('httpRouteReferences', () => {
  test('every backendRef with weight > 0 to a Service of the namespace, in every rule; weight defaults to 1', () => {
    const route = {
      spec: {
        rules: [
          { name: 'switchyard-header-beta', backendRefs: [{ name: 'canary', weight: 1 }] },
          {
            backendRefs: [
              { name: 'stable', weight: 70 },
              { name: 'canary', weight: 30 },
            ],
          },
          { backendRefs: [{ name: 'static-files' }] },
        ],
      },
    };
    expect(httpRouteReferences('web', route, ns)).toEqual([
      { service: 'canary', route: 'HTTPRoute "web"', where: 'rule "switchyard-header-beta", weight 1' },
      { service: 'stable', route: 'HTTPRoute "web"', where: 'rule 1, weight 70' },
      { service: 'canary', route: 'HTTPRoute "web"', where: 'rule 1, weight 30' },
      { service: 'static-files', route: 'HTTPRoute "web"', where: 'rule 2, weight 1' },
    ]);
  });

  test('a backendRef at weight 0 references nothing (the canary Service after prepare or an abort)', () => {
    const route = {
      spec: {
        rules: [
          {
            backendRefs: [
              { name: 'stable', weight: 100 },
              { name: 'canary', weight: 0 },
            ],
          },
        ],
      },
    };
    expect(httpRouteReferences('web', route, ns).map((r) => r.service)).toEqual(['stable']);
    expect(httpRouteReferences('web', {}, ns)).toEqual([]);
  });

  test('only Services of the route namespace: other kinds, groups and namespaces are not this workload', () => {
    expect(backendService({ name: 'api' }, ns)).toBe('api');
    expect(backendService({ name: 'api', kind: 'Service', group: '', namespace: ns }, ns)).toBe('api');
    expect(backendService({ name: 'api', namespace: 'other' }, ns)).toBeNull();
    expect(backendService({ name: 'api', kind: 'ServiceImport', group: 'net.gke.io' }, ns)).toBeNull();
    expect(backendService({ name: 'api', group: 'example.com' }, ns)).toBeNull();
  });
});

function ingress(notes: Record<string, string>, withDefault = false): V1Ingress {
  const path = (p: string, service: string) => ({
    path: p,
    pathType: 'Prefix',
    backend: { service: { name: service, port: { number: 80 } } },
  });
  return {
    metadata: { annotations: notes },
    spec: {
      ...(withDefault ? { defaultBackend: { service: { name: 'fallback', port: { number: 80 } } } } : {}),
      rules: [
        { host: 'shop.example.com', http: { paths: [path('/', 'canary'), path('/api', 'canary')] } },
        { http: { paths: [path('/health', 'health')] } },
      ],
    },
  };
}

describe('ingressReferences', () => {
  test('a plain Ingress sends every path and its default backend, whatever the canary annotations say', () => {
    expect(ingressReferences('shop', ingress({ [nginxAnnotations.weight]: '0' }, true))).toEqual([
      { service: 'fallback', route: 'Ingress "shop"', where: 'default backend' },
      { service: 'canary', route: 'Ingress "shop"', where: 'shop.example.com/' },
      { service: 'canary', route: 'Ingress "shop"', where: 'shop.example.com/api' },
      { service: 'health', route: 'Ingress "shop"', where: '*/health' },
    ]);
    expect(ingressReferences('shop', ingress({ [nginxAnnotations.canary]: 'false' }))).toHaveLength(3);
  });

  test('a canary Ingress at weight 0 (or none) without header or cookie rule references nothing', () => {
    expect(ingressReferences('c', ingress({ [nginxAnnotations.canary]: 'true' }))).toEqual([]);
    for (const weight of ['0', '00', ' 0 ']) {
      const notes = { [nginxAnnotations.canary]: 'true', [nginxAnnotations.weight]: weight };
      expect(ingressReferences('c', ingress(notes))).toEqual([]);
    }
    // Inert without canary-by-header, as ingress-nginx reads them.
    const inert = {
      [nginxAnnotations.canary]: 'true',
      [nginxAnnotations.byHeaderValue]: 'on',
      [nginxAnnotations.byHeaderPattern]: '.*',
    };
    expect(ingressReferences('c', ingress(inert))).toEqual([]);
  });

  test('a canary Ingress with a weight, a header or a cookie rule sends every path, and says why', () => {
    const weighted = ingressReferences(
      'shop-canary',
      ingress({ [nginxAnnotations.canary]: 'True', [nginxAnnotations.weight]: '20' }),
    );
    expect(weighted[0]).toEqual({
      service: 'canary',
      route: 'canary Ingress "shop-canary"',
      where: 'shop.example.com/, canary-weight 20',
    });
    expect(weighted).toHaveLength(3);
    const header = ingressReferences(
      'c',
      ingress({
        [nginxAnnotations.canary]: 'true',
        [nginxAnnotations.weight]: '0',
        [nginxAnnotations.byHeader]: 'x-canary',
        [nginxAnnotations.byCookie]: 'beta',
      }),
    );
    expect(header[0]?.where).toBe('shop.example.com/, canary-by-header x-canary, canary-by-cookie beta');
    // A weight ingress-nginx may not read as 0 is not bet on.
    const odd = ingressReferences(
      'c',
      ingress({ [nginxAnnotations.canary]: 'true', [nginxAnnotations.weight]: 'ten' }),
    );
    expect(odd).toHaveLength(3);
  });
});

describe('servingReason', () => {
  const revision = 'aaaaaaaaaa';
  const pods = { app: 'api', [labels.name]: 'api', [labels.revision]: revision };
  const counts = (ready: Record<string, number>, total = ready) => ({
    readyByRevision: ready,
    totalByRevision: total,
  });

  test('a Service naming the revision serves it, even with other ready endpoints', () => {
    const selector = { [labels.name]: 'api', [labels.revision]: revision };
    expect(servingReason(selector, pods, revision, counts({ [revision]: 2, other: 3 }))).toBe(
      `selects it (${labels.name}=api,${labels.revision}=${revision})`,
    );
    expect(servingReason(selector, pods, revision, counts({}))).toContain('and has no other ready endpoint');
  });

  test('a Service selecting by labels serves it only while no other revision behind it is ready', () => {
    const selector = { app: 'api' };
    expect(servingReason(selector, pods, revision, counts({ [revision]: 2 }))).toBe(
      'selects it (app=api) and has no other ready endpoint',
    );
    expect(servingReason(selector, pods, revision, counts({ [revision]: 2, other: 1 }))).toBeNull();
  });

  test('a Service moved off (or re-pointed) serves it until its EndpointSlices no longer list it', () => {
    const moved = { [labels.name]: 'api', [labels.revision]: 'bbbbbbbbbb' };
    expect(
      servingReason(moved, pods, revision, counts({ bbbbbbbbbb: 2 }, { bbbbbbbbbb: 2, [revision]: 1 })),
    ).toBe('still lists 1 of its endpoints (EndpointSlices not drained yet)');
    expect(servingReason(moved, pods, revision, counts({ bbbbbbbbbb: 2 }))).toBeNull();
    // No selector at all (hand-made EndpointSlices): only what it lists counts.
    expect(servingReason({}, pods, revision, counts({}, { [revision]: 1 }))).toContain('still lists 1');
    expect(servingReason({}, pods, revision, counts({}))).toBeNull();
  });
});

describe('throughRoutes', () => {
  const ref = (where: string): RouteReference => ({ service: 'direct', route: 'HTTPRoute "web"', where });
  test('names the routes that reach the Service, at most three', () => {
    expect(throughRoutes([])).toBe('');
    expect(throughRoutes([ref('rule 1, weight 5')])).toBe(
      '; traffic reaches that Service through HTTPRoute "web" (rule 1, weight 5)',
    );
    expect(throughRoutes(['a', 'b', 'c', 'd', 'e'].map(ref))).toBe(
      '; traffic reaches that Service through HTTPRoute "web" (a) and HTTPRoute "web" (b) and HTTPRoute "web" (c) and 2 more',
    );
  });
});
