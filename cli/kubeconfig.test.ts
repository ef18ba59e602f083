import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { kubeconfigContexts, kubeconfigToCheck } from './kubeconfig.ts';

const dir = mkdtempSync(join(tmpdir(), 'switchyard-kubeconfig-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function kubeconfig(name: string, contexts: string[]): string {
  const path = join(dir, name);
  writeFileSync(
    path,
    stringify({
      apiVersion: 'v1',
      kind: 'Config',
      clusters: [{ name: 'c', cluster: { server: 'https://127.0.0.1:6443' } }],
      users: [{ name: 'u', user: { token: 't' } }],
      contexts: contexts.map((c) => ({ name: c, context: { cluster: 'c', user: 'u' } })),
      'current-context': contexts[0] ?? '',
    }),
  );
  return path;
}

describe('kubeconfigToCheck', () => {
  it("is the local stack's kubeconfig when the CLI uses the stack, whatever $KUBECONFIG says", () => {
    const source = {
      kind: 'local-stack',
      project: 'p',
      stateDir: '/s',
      kubeconfig: '/s/kubeconfig',
    } as const;
    expect(kubeconfigToCheck(source, { KUBECONFIG: '/mine' })).toBe('/s/kubeconfig');
  });

  it('is $KUBECONFIG otherwise, and none without it', () => {
    expect(kubeconfigToCheck({ kind: 'environment', project: 'p' }, { KUBECONFIG: '/mine' })).toBe('/mine');
    expect(kubeconfigToCheck({ kind: 'flag', project: 'p' }, {})).toBeUndefined();
    expect(kubeconfigToCheck({ kind: 'none', stateDir: '/s' }, { KUBECONFIG: '' })).toBeUndefined();
  });
});

describe('kubeconfigContexts', () => {
  it('lists the contexts of every file of a $KUBECONFIG list', async () => {
    const list = [kubeconfig('a', ['kind-dev', 'prod']), kubeconfig('b', ['prod', 'staging'])].join(
      delimiter,
    );
    expect(await kubeconfigContexts(list)).toEqual({ contexts: ['kind-dev', 'prod', 'staging'] });
  });

  it('says why a kubeconfig cannot be read', async () => {
    const result = await kubeconfigContexts(join(dir, 'missing'));
    expect(result).toEqual({
      error: expect.stringContaining(`cannot read kubeconfig ${join(dir, 'missing')}:`),
    });
  });
});
