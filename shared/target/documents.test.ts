import { describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { documentsOf, validateDocuments } from './documents.ts';
import { parseReleaseTargets } from './yaml.ts';

const target = (name: string, labels?: Record<string, string>) => ({
  apiVersion: 'switchyard.dev/v1alpha1',
  kind: 'ReleaseTarget',
  metadata: { name, ...(labels ? { labels } : {}) },
  spec: {
    image: { repository: `us-docker.pkg.dev/acme/apps/${name}` },
    cluster: { context: 'local' },
    namespace: 'shop',
    workload: name,
    strategy: { blueGreen: { activeService: name } },
  },
});
const template = {
  apiVersion: 'switchyard.dev/v1alpha1',
  kind: 'AnalysisTemplate',
  metadata: { name: 'errors' },
  spec: {
    metrics: [
      {
        name: 'errors',
        interval: '30s',
        successCondition: 'result[0] < 0.05',
        provider: { prometheus: { address: 'http://prometheus:9090', query: 'up' } },
      },
    ],
  },
};

describe('the documents an apply sends', () => {
  it('validate to what the CLI parsed from the file, with the indexes of the file', () => {
    const text = `${stringify(template)}---\n# only a comment\n---\n${stringify(target('api', { team: 'a' }))}---\n`;
    const sent = documentsOf(text);
    expect(sent).toHaveLength(4);
    expect([sent[1], sent[3]]).toEqual([null, null]);
    // What goes on the wire is JSON: the function reads what JSON keeps.
    const received = JSON.parse(JSON.stringify(sent));
    expect(validateDocuments(received)).toEqual(parseReleaseTargets(text, 'f.yaml'));
  });

  it('are validated again: every problem with its documents[i] path, nothing trusted', () => {
    const bad = { ...target('web'), spec: { ...target('web').spec, namespace: 'Shop' } };
    const result = validateDocuments([target('api'), bad, 'text', { kind: 'Secret' }, target('api')]);
    expect(result).toEqual({
      errors: [
        expect.objectContaining({ document: 1, path: 'documents[1].spec.namespace' }),
        { document: 2, path: 'documents[2]', message: 'must be a mapping' },
        {
          document: 3,
          path: 'documents[3].kind',
          message: 'unknown kind "Secret": must be one of ReleaseTarget, AnalysisTemplate',
        },
        expect.objectContaining({
          document: 4,
          path: 'documents[4].metadata.name',
          message: expect.stringMatching(/^duplicate target name "api": documents\[0\] already uses it/),
        }),
      ],
    });
    expect(validateDocuments([null])).toEqual({
      errors: [{ document: 0, path: '', message: 'the apply holds no ReleaseTarget document' }],
    });
  });
});
