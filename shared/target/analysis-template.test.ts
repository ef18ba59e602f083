// The AnalysisTemplate document (schema.ts): a named template beside the targets of a file, its
// defaults, and its problems (CEL, providers, keys, kinds) with their paths and lines.
import { describe, expect, it } from 'vitest';
import { providerSchemas } from '../analysis/providers/schemas.ts';
import { errorsOf, file, parsedOf, templateDoc, usesPre } from './fixtures.ts';

describe('named analysis templates', () => {
  it('parses a named template beside a target, name from metadata.name, defaults applied', () => {
    const { targets, templates } = parsedOf(file(templateDoc('error-rate'), usesPre('error-rate')));
    expect(targets.map((t) => t.metadata.name)).toEqual(['api']);
    expect(templates).toEqual([
      {
        name: 'error-rate',
        args: [{ name: 'service' }],
        metrics: [
          {
            name: 'errors',
            interval: 30,
            count: 1,
            successCondition: 'result[0] < 0.05',
            failureLimit: 0,
            inconclusiveLimit: 0,
            consecutiveErrorLimit: 4,
            dryRun: false,
            noDataPhase: 'Inconclusive',
            provider: {
              kind: 'prometheus',
              config: {
                address: 'http://prometheus:9090',
                query: 'up{service="{{args.service}}"}',
                timeoutSeconds: 10,
              },
            },
          },
        ],
      },
    ]);
    // A file of templates only is a valid file too (templates are applied on their own).
    expect(parsedOf(file(templateDoc('a'), templateDoc('b')))).toMatchObject({
      targets: [],
      templates: [{ name: 'a' }, { name: 'b' }],
    });
  });

  it('reports bad CEL in a named template and in an inline one with the exact path and line', () => {
    const text = [
      'apiVersion: switchyard.dev/v1alpha1', // 1
      'kind: ReleaseTarget', // 2
      'metadata: {name: api}', // 3
      'spec:', // 4
      '  image: {repository: us-docker.pkg.dev/acme/apps/api}', // 5
      '  cluster: {context: local}', // 6
      '  namespace: shop', // 7
      '  workload: api', // 8
      '  strategy: {blueGreen: {activeService: api}}', // 9
      '  analysis:', // 10
      '    templates:', // 11
      '      - name: smoke', // 12
      '        metrics:', // 13
      '          - name: ok', // 14
      '            failureCondition: result >', // 15
      '            provider: {web: {url: "http://api.shop/healthz", jsonPath: "$.ok"}}', // 16
      '---', // 17
      'apiVersion: switchyard.dev/v1alpha1', // 18
      'kind: AnalysisTemplate', // 19
      'metadata: {name: error-rate}', // 20
      'spec:', // 21
      '  metrics:', // 22
      '    - name: errors', // 23
      '      provider: {prometheus: {address: "http://prometheus:9090", query: up}}', // 24
      "      successCondition: 'result[0] <'", // 25
    ].join('\n');
    expect(errorsOf(text)).toEqual([
      {
        document: 0,
        path: 'documents[0].spec.analysis.templates[0].metrics[0].failureCondition',
        message: 'invalid CEL at column 8: found > but expecting end of input',
        line: 15,
      },
      {
        document: 1,
        path: 'documents[1].spec.metrics[0].successCondition',
        message: 'invalid CEL at column 11: found < but expecting end of input',
        line: 25,
      },
    ]);
  });

  it('reports an unknown provider of a named template with its path and line', () => {
    const text = [
      'apiVersion: switchyard.dev/v1alpha1', // 1
      'kind: AnalysisTemplate', // 2
      'metadata: {name: error-rate}', // 3
      'spec:', // 4
      '  metrics:', // 5
      '    - name: errors', // 6
      '      provider:', // 7
      '        datadog: {query: "avg:errors"}', // 8
    ].join('\n');
    expect(errorsOf(text)).toEqual([
      {
        document: 0,
        path: 'documents[0].spec.metrics[0].provider.datadog',
        message: `unknown provider "datadog": use one of ${Object.keys(providerSchemas).join(', ')}`,
        line: 8,
      },
    ]);
  });

  it('names the allowed keys of a template spec, and refuses a name in the spec', () => {
    const errors = errorsOf(file(templateDoc('t', (d) => (d.spec.name = 't'))));
    expect(errors.map((e) => [e.path, e.message])).toEqual([
      ['documents[0].spec.name', 'unknown field "name" (allowed: args, metrics)'],
    ]);
  });
});
