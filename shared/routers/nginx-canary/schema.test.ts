// What a target may add to the canary Ingress: not the annotations the router drives, no snippets.
import { describe, expect, it } from 'vitest';
import { nginxCanaryConfigSchema, refusedAnnotation } from './schema.ts';

const nginx = 'nginx.ingress.kubernetes.io/';

describe('nginx-canary configuration', () => {
  it('refuses every canary annotation but canary-by-header-pattern, canary-weight-total among them', () => {
    for (const name of [
      'canary',
      'canary-weight',
      'canary-weight-total',
      'canary-by-header',
      'canary-by-header-value',
      'canary-by-cookie',
      'canary-some-future-knob',
    ]) {
      expect(refusedAnnotation(`${nginx}${name}`), name).toMatch(/is set by the router itself/);
    }
    expect(refusedAnnotation(`${nginx}canary-by-header-pattern`)).toBeNull();
  });

  it('refuses snippet annotations under any prefix', () => {
    for (const key of [
      `${nginx}configuration-snippet`,
      `${nginx}server-snippet`,
      `${nginx}auth-snippet`,
      `${nginx}stream-snippet`,
      'custom.ingress.example.com/server-snippet',
    ]) {
      expect(refusedAnnotation(key), key).toMatch(/is a snippet annotation: raw NGINX configuration/);
    }
  });

  it("refuses Switchyard's own keys and lets ordinary annotations through", () => {
    expect(refusedAnnotation('switchyard.dev/release')).toMatch(/Switchyard's own bookkeeping/);
    expect(refusedAnnotation(`${nginx}proxy-body-size`)).toBeNull();
    const parsed = nginxCanaryConfigSchema.safeParse({
      stableIngress: 'web',
      additionalIngressAnnotations: {
        [`${nginx}canary-weight-total`]: '1000',
        [`${nginx}server-snippet`]: 'x',
      },
    });
    expect(parsed.success).toBe(false);
    expect(parsed.error?.issues.map((i) => i.path)).toEqual([
      ['additionalIngressAnnotations', `${nginx}canary-weight-total`],
      ['additionalIngressAnnotations', `${nginx}server-snippet`],
    ]);
  });
});
