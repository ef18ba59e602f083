import { describe, expect, test } from 'vitest';
import { providerDefinitions } from '../analysis/providers/schemas.ts';
import { switchyardRules } from '../rbac.ts';
import { type CanaryStrategy, canarySchema } from '../target/canary.ts';
import { routeObjectsFor, routerFor } from './index.ts';
import { routerDefinitions } from './registry.ts';

const canary = (trafficRouting?: unknown) =>
  canarySchema.parse({ stableService: 'web-stable', canaryService: 'web-canary', trafficRouting });

describe('routeObjectsFor', () => {
  test('the serving guard reads the HTTPRoute of the gatewayAPI router', () => {
    expect(routeObjectsFor(canary({ gatewayAPI: { httpRoute: 'web', rule: 0 } }))).toEqual([
      { kind: 'HTTPRoute', name: 'web' },
    ]);
  });

  test('the nginx router: the stable Ingress and the canary Ingress Switchyard creates beside it', () => {
    expect(routeObjectsFor(canary({ nginx: { stableIngress: 'shop' } }))).toEqual([
      { kind: 'Ingress', name: 'shop' },
      { kind: 'Ingress', name: 'shop-canary' },
    ]);
  });

  test('the replica-ratio router has no route objects (its Services are the target’s own)', () => {
    expect(routeObjectsFor(canary())).toEqual([]);
  });
});

describe('the router registry', () => {
  test('a trafficRouting with an unknown router is refused by the schema, naming the known keys', () => {
    const parsed = canarySchema.safeParse({
      stableService: 'web-stable',
      canaryService: 'web-canary',
      trafficRouting: { istio: { virtualService: 'web' } },
    });
    expect(parsed.success).toBe(false);
  });

  test('a stored canary naming an unknown router is an error, never replica ratio', () => {
    const stored = { ...canary(), trafficRouting: { istio: {} } } as unknown as CanaryStrategy;
    expect(() => routerFor(stored)).toThrow(
      'trafficRouting must name exactly one router (gatewayAPI, nginx), not istio',
    );
    const two = { ...canary(), trafficRouting: { gatewayAPI: {}, nginx: {} } } as unknown as CanaryStrategy;
    expect(() => routerFor(two)).toThrow(/exactly one router/);
  });

  test('each router is found by its key; none without trafficRouting', () => {
    expect(routerFor(canary({ nginx: { stableIngress: 'shop' } })).kind).toBe('nginx');
    expect(routerFor(canary({ gatewayAPI: { httpRoute: 'web' } })).kind).toBe('gatewayAPI');
    expect(routerFor(canary()).kind).toBe('none');
  });

  test("Switchyard's Role holds each router's and each provider's rules, from their definitions", () => {
    for (const d of [...routerDefinitions, ...providerDefinitions]) {
      for (const rule of d.rules) expect(switchyardRules).toContainEqual(rule);
    }
    const resources = switchyardRules.flatMap((r) => r.resources);
    expect(new Set(resources).size).toBe(resources.length);
  });
});
