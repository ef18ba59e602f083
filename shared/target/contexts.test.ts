// checkClusterContexts: a target naming a kubeconfig context the kubeconfig does not have is refused
// with the path and line of its context, naming the contexts there are.
import { describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { checkClusterContexts } from './references.ts';
import type { ReleaseTarget } from './schema.ts';
import { parseReleaseTargets } from './yaml.ts';

function targets(...clusters: object[]): ReleaseTarget[] {
  const text = clusters
    .map((cluster, i) =>
      stringify({
        apiVersion: 'switchyard.dev/v1alpha1',
        kind: 'ReleaseTarget',
        metadata: { name: `t${i}` },
        spec: {
          image: { repository: `us-docker.pkg.dev/acme/apps/t${i}` },
          cluster,
          namespace: 'shop',
          workload: 'api',
          strategy: { blueGreen: { activeService: 'api' } },
        },
      }),
    )
    .join('---\n');
  const parsed = parseReleaseTargets(text, 'test.yaml');
  if ('errors' in parsed) throw new Error(JSON.stringify(parsed.errors));
  return parsed.targets;
}

describe('checkClusterContexts', () => {
  it('accepts contexts the kubeconfig has, and GKE clusters (not checked at apply)', () => {
    const ts = targets(
      { context: 'kind-dev' },
      { gke: 'projects/acme-prod/locations/europe-west1/clusters/main' },
    );
    expect(checkClusterContexts(ts, ['kind-dev'], '/k')).toEqual([]);
  });

  it('refuses an unknown context with its path and line, naming the contexts there are', () => {
    const ts = targets({ context: 'kind-dev' }, { context: 'kind-dve' });
    expect(checkClusterContexts(ts, ['kind-dev', 'prod'], '/home/me/.kube/config')).toEqual([
      {
        document: 1,
        path: 'documents[1].spec.cluster.context',
        line: expect.any(Number),
        message:
          'no context "kind-dve" in kubeconfig /home/me/.kube/config (contexts: "kind-dev", "prod"): name one of them, or a GKE cluster with gke: projects/P/locations/L/clusters/C',
      },
    ]);
  });

  it('says when the kubeconfig has no context at all', () => {
    expect(checkClusterContexts(targets({ context: 'x' }), [], '/k')[0]?.message).toContain(
      '(contexts: none)',
    );
  });
});
