import { describe, expect, test } from 'vitest';
import { canarySchema } from '../target/canary.ts';
import { routeObjectsFor } from './index.ts';

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
