// The ReleaseTarget schema and its YAML front door: defaults, every error with path and line, and
// the tag filter the push handler relies on.
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import {
  checkTemplateReferences,
  type ParsedFile,
  parseReleaseTargets,
  type ReleaseTarget,
  type ReleaseTargetInput,
  type TargetError,
  validateReleaseTarget,
} from './schema.ts';
import { matchTagFilter } from './tag-filter.ts';

// biome-ignore lint/suspicious/noExplicitAny: fixtures are edited into deliberately invalid shapes.
type Loose = Record<string, any>;

/** A minimal valid document; `patch` edits a copy (fixtures built by a helper, not YAML walls). */
function doc(patch: (d: Loose) => void = () => {}): Loose {
  const d: ReleaseTargetInput = {
    apiVersion: 'switchyard.dev/v1alpha1',
    kind: 'ReleaseTarget',
    metadata: { name: 'api' },
    spec: {
      image: { repository: 'us-docker.pkg.dev/acme/apps/api' },
      cluster: { context: 'local' },
      namespace: 'shop',
      workload: 'api',
      strategy: { blueGreen: { activeService: 'api' } },
    },
  };
  const copy = structuredClone(d) as Loose;
  patch(copy);
  return copy;
}

/** A YAML file of the given documents. */
const file = (...docs: object[]) => docs.map((d) => stringify(d)).join('---\n');

function errorsOf(text: string): TargetError[] {
  const result = parseReleaseTargets(text, 'test.yaml');
  if (!('errors' in result)) throw new Error(`expected errors, got ${JSON.stringify(result)}`);
  return result.errors;
}

function parsedOf(text: string): ParsedFile {
  const result = parseReleaseTargets(text, 'test.yaml');
  if ('errors' in result) throw new Error(`expected targets, got ${JSON.stringify(result.errors)}`);
  return result;
}

const targetsOf = (text: string): ReleaseTarget[] => parsedOf(text).targets;

const target = (patch?: (d: Loose) => void) => targetsOf(file(doc(patch)))[0]!;

describe('parseReleaseTargets', () => {
  it('applies every default', () => {
    const t = target();
    expect(t.spec.image.untagged).toBe('ignore');
    expect(t.spec.image.tagFilter).toBeUndefined();
    expect(t.spec.containers).toBeUndefined();
    expect(t.spec.progressDeadlineSeconds).toBe(600);
    expect(t.spec.revisionHistoryLimit).toBe(3);
    expect(t.spec.strategy.blueGreen).toEqual({
      activeService: 'api',
      autoPromotionEnabled: true,
      scaleDownDelaySeconds: 30,
      abortScaleDownDelaySeconds: 30,
    });
  });

  it('reads several documents separated by ---, skipping empty ones', () => {
    const text = `${file(
      doc(),
      doc((d) => {
        d.metadata.name = 'web';
        d.spec.cluster = { gke: 'projects/acme-prod/locations/europe-west1/clusters/main' };
      }),
    )}---\n# only a comment\n`;
    expect(targetsOf(text).map((t) => t.metadata.name)).toEqual(['api', 'web']);
  });

  it('lists every mistake of every document, each with its path and line', () => {
    const text = [
      'apiVersion: switchyard.dev/v1alpha1', // 1
      'kind: ReleaseTarget', // 2
      'metadata:', // 3
      '  name: api', // 4
      'spec:', // 5
      '  image:', // 6
      '    repository: us-docker.pkg.dev/acme/apps/api', // 7
      '  cluster: {context: local}', // 8
      '  namespace: Shop', // 9
      '  workload: api', // 10
      '  revisionHistoryLimit: 50', // 11
      '  strategy:', // 12
      '    blueGreen:', // 13
      '      previewService: api-preview', // 14
      '      scaleDownDelaySeconds: 1.5', // 15
      '---', // 16
      'apiVersion: switchyard.dev/v1', // 17
      'kind: ReleaseTarget', // 18
      'metadata: {name: web}', // 19
      'spec:', // 20
      '  image: {repository: us-docker.pkg.dev/acme/apps/web, untagged: always}', // 21
      '  namespace: shop', // 22
      '  workload: web', // 23
      '  strategy: {blueGreen: {activeService: web}}', // 24
    ].join('\n');
    expect(errorsOf(text).map(({ path, line }) => ({ path, line }))).toEqual([
      { path: 'documents[0].spec.namespace', line: 9 },
      { path: 'documents[0].spec.revisionHistoryLimit', line: 11 },
      // A missing field is reported at the line of the mapping it belongs in.
      { path: 'documents[0].spec.strategy.blueGreen.activeService', line: 13 },
      { path: 'documents[0].spec.strategy.blueGreen.scaleDownDelaySeconds', line: 15 },
      { path: 'documents[1].apiVersion', line: 17 },
      { path: 'documents[1].spec.cluster', line: 20 },
      { path: 'documents[1].spec.image.untagged', line: 21 },
    ]);
    const messages = Object.fromEntries(errorsOf(text).map((e) => [e.path, e.message]));
    expect(messages['documents[0].spec.strategy.blueGreen.activeService']).toBe('required');
    expect(messages['documents[1].spec.cluster']).toBe('required');
    expect(messages['documents[0].spec.revisionHistoryLimit']).toBe('must be between 1 and 20');
    expect(messages['documents[1].apiVersion']).toBe('must be "switchyard.dev/v1alpha1"');
    expect(messages['documents[1].spec.image.untagged']).toBe('must be one of: ignore, release');
    expect(messages['documents[0].spec.namespace']).toMatch(/DNS-1123 label/);
  });

  it('refuses the same target name twice in one file, naming both documents', () => {
    const errors = errorsOf(file(doc(), doc()));
    const firstDocLines = stringify(doc()).split('\n').length - 1;
    expect(errors).toEqual([
      {
        document: 1,
        path: 'documents[1].metadata.name',
        message: 'duplicate target name "api": documents[0] already uses it; names must be unique',
        // After the first document and its `---`: `name:` is the 4th line of the second one.
        line: firstDocLines + 1 + 4,
      },
    ]);
  });

  it('names an unknown key and the keys allowed there', () => {
    const errors = errorsOf(
      file(
        doc((d) => {
          d.spec.strategy.blueGreen.autoPromotionSecond = 5;
          d.spec.canary = {};
        }),
      ),
    );
    expect(errors.map((e) => [e.path, e.message])).toEqual([
      [
        'documents[0].spec.strategy.blueGreen.autoPromotionSecond',
        expect.stringMatching(/^unknown field "autoPromotionSecond" \(allowed: .*autoPromotionSeconds/),
      ],
      ['documents[0].spec.canary', expect.stringMatching(/^unknown field "canary"/)],
    ]);
  });

  it('reports a tagFilter that does not compile with the regex error', () => {
    const [error, ...rest] = errorsOf(file(doc((d) => (d.spec.image.tagFilter = '^v(\\d+$'))));
    expect(rest).toEqual([]);
    expect(error).toMatchObject({ path: 'documents[0].spec.image.tagFilter', line: 8 });
    expect(error?.message).toMatch(/^invalid regular expression: missing closing \)/);
  });

  it('refuses a tagFilter RE2 cannot run (a lookaround), at its path, and accepts the slow-for-backtracking one', () => {
    const [error, ...rest] = errorsOf(file(doc((d) => (d.spec.image.tagFilter = '^v(?!0)\\d+$'))));
    expect(rest).toEqual([]);
    expect(error).toMatchObject({ path: 'documents[0].spec.image.tagFilter', line: 8 });
    expect(error?.message).toMatch(/^lookarounds .* are not supported: tagFilter is an RE2 expression/);
    const ok = parsedOf(file(doc((d) => (d.spec.image.tagFilter = '^v?(\\d+\\.?)+$'))));
    expect(ok.targets[0]?.spec.image.tagFilter).toBe('^v?(\\d+\\.?)+$');
  });

  it('checks the format of a GKE cluster name', () => {
    for (const gke of [
      'projects/acme/locations/europe-west1/clusters/main', // project id too short
      'projects/acme-prod/zones/europe-west1-b/clusters/main',
      'projects/acme-prod/locations/europe-west1/clusters/Main',
      'acme-prod/europe-west1/main',
    ]) {
      const errors = errorsOf(file(doc((d) => (d.spec.cluster = { gke }))));
      expect(
        errors.map((e) => e.path),
        gke,
      ).toEqual(['documents[0].spec.cluster.gke']);
      expect(errors[0]?.message).toMatch(/projects\/PROJECT\/locations\/LOCATION\/clusters\/CLUSTER/);
    }
    for (const gke of [
      'projects/acme-prod/locations/europe-west1/clusters/main',
      'projects/acme-prod/locations/us-central1-a/clusters/c1',
      'projects/123456789012/locations/asia-northeast1/clusters/x',
    ]) {
      expect(target((d) => (d.spec.cluster = { gke })).spec.cluster).toEqual({ gke });
    }
  });

  it('refuses a cluster that is both or neither of gke and context', () => {
    const both = errorsOf(file(doc((d) => (d.spec.cluster = { gke: 'x', context: 'y' }))));
    const neither = errorsOf(file(doc((d) => (d.spec.cluster = {}))));
    for (const errors of [both, neither]) {
      expect(errors.map((e) => [e.path, e.message])).toEqual([
        [
          'documents[0].spec.cluster',
          'must be either {gke: projects/P/locations/L/clusters/C} or {context: <kubeconfig context>}',
        ],
      ]);
    }
  });

  it('reports a YAML syntax error with its line and column, and still checks the other documents', () => {
    const first = stringify(doc((d) => (d.spec.namespace = 'UPPER')));
    const text = `${first}---\nmetadata:\n  name: [a\nspec: 1\n`;
    const errors = errorsOf(text);
    expect(errors.map((e) => e.path)).toEqual(['documents[0].spec.namespace', 'documents[1]']);
    // The unclosed `[` is found where the flow sequence should have ended: at `spec: 1`.
    const specLine = first.split('\n').length - 1 + 4;
    expect(errors[1]).toMatchObject({ document: 1, line: specLine, column: 1 });
    expect(errors[1]?.message).not.toMatch(/at line/);
  });

  it('refuses repositories with a tag or digest, and without a registry host', () => {
    const message = (repository: string) =>
      errorsOf(file(doc((d) => (d.spec.image.repository = repository))))[0]?.message;
    expect(message('us-docker.pkg.dev/acme/apps/api:v1')).toMatch(/must not include a tag/);
    expect(message(`us-docker.pkg.dev/acme/apps/api@sha256:${'a'.repeat(64)}`)).toMatch(
      /must not include a digest/,
    );
    expect(message('acme/api')).toMatch(/registry host/);
    expect(message('US-docker.pkg.dev/acme/apps/api')).toMatch(/lower case/);
    expect(target((d) => (d.spec.image.repository = 'localhost:5000/apps/api')).spec.image.repository).toBe(
      'localhost:5000/apps/api',
    );
  });

  it('refuses autoPromotionSeconds when autoPromotionEnabled is false (Argo would silently ignore it)', () => {
    const errors = errorsOf(
      file(
        doc((d) => {
          d.spec.strategy.blueGreen.autoPromotionEnabled = false;
          d.spec.strategy.blueGreen.autoPromotionSeconds = 60;
          d.spec.strategy.blueGreen.previewService = 'api';
        }),
      ),
    );
    expect(errors.map((e) => e.path)).toEqual([
      'documents[0].spec.strategy.blueGreen.autoPromotionSeconds',
      'documents[0].spec.strategy.blueGreen.previewService',
    ]);
    expect(
      target((d) => (d.spec.strategy.blueGreen.autoPromotionSeconds = 60)).spec.strategy.blueGreen,
    ).toMatchObject({ autoPromotionEnabled: true, autoPromotionSeconds: 60 });
  });

  it('says so when a file holds no document at all', () => {
    expect(errorsOf('# nothing here\n')).toEqual([
      { document: 0, path: '', message: 'test.yaml holds no ReleaseTarget document' },
    ]);
  });

  it('refuses a document that is not a mapping, and paths of label keys with dots are quoted', () => {
    expect(errorsOf('- a\n- b\n')[0]).toMatchObject({
      path: 'documents[0]',
      message: 'must be a mapping, not a list',
    });
    const errors = errorsOf(
      file(doc((d) => (d.metadata.labels = { 'app.kubernetes.io/name': 'not valid!' }))),
    );
    expect(errors[0]?.path).toBe('documents[0].metadata.labels["app.kubernetes.io/name"]');
    expect(errors[0]?.line).toBe(6);
  });
});

describe("trafficRouting: the routers' own schemas", () => {
  const canary = (trafficRouting: Loose) =>
    doc((d) => {
      d.spec.strategy = {
        canary: {
          stableService: 'api',
          canaryService: 'api-canary',
          steps: [{ setWeight: 10 }],
          trafficRouting,
        },
      };
    });
  const nginx = 'nginx.ingress.kubernetes.io/';

  it('refuses the annotations the nginx router drives and snippets, each by name at its path', () => {
    const errors = errorsOf(
      file(
        canary({
          nginx: {
            stableIngress: 'web',
            additionalIngressAnnotations: {
              [`${nginx}canary-weight-total`]: '1000',
              [`${nginx}configuration-snippet`]: 'return 200;',
              [`${nginx}canary-by-header-pattern`]: '^beta$',
            },
          },
        }),
      ),
    );
    const at = 'documents[0].spec.strategy.canary.trafficRouting.nginx.additionalIngressAnnotations';
    expect(errors.map((e) => [e.path, e.message])).toEqual([
      [`${at}["${nginx}canary-weight-total"]`, expect.stringMatching(/is set by the router itself/)],
      [`${at}["${nginx}configuration-snippet"]`, expect.stringMatching(/is a snippet annotation/)],
    ]);
  });

  it("checks gatewayAPI with the router's schema (an HTTPRoute has at most 16 rules)", () => {
    const [error, ...rest] = errorsOf(file(canary({ gatewayAPI: { httpRoute: 'web', rule: 16 } })));
    expect(rest).toEqual([]);
    expect(error?.path).toBe('documents[0].spec.strategy.canary.trafficRouting.gatewayAPI.rule');
  });
});

describe('named analysis templates', () => {
  /** A named template document (kind AnalysisTemplate); `patch` edits it. */
  function templateDoc(name: string, patch: (d: Loose) => void = () => {}): Loose {
    const d: Loose = {
      apiVersion: 'switchyard.dev/v1alpha1',
      kind: 'AnalysisTemplate',
      metadata: { name },
      spec: {
        args: [{ name: 'service' }],
        metrics: [
          {
            name: 'errors',
            interval: '30s',
            successCondition: 'result[0] < 0.05',
            provider: {
              prometheus: { address: 'http://prometheus:9090', query: 'up{service="{{args.service}}"}' },
            },
          },
        ],
      },
    };
    patch(d);
    return d;
  }

  const usesPre = (...names: string[]) =>
    doc(
      (d) =>
        (d.spec.strategy.blueGreen.prePromotionAnalysis = {
          templates: names.map((templateName) => ({ templateName })),
        }),
    );

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
        message: 'unknown provider "datadog": use one of prometheus, cloudMonitoring, web, job',
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

  it('refuses an unknown or missing kind, naming the allowed kinds, with its line', () => {
    const errors = errorsOf(
      `${file(doc())}---\napiVersion: switchyard.dev/v1alpha1\nkind: Rollout\nmetadata: {name: x}\n---\nmetadata: {name: y}\n`,
    );
    const firstDocLines = file(doc()).split('\n').length - 1;
    expect(errors).toEqual([
      {
        document: 1,
        path: 'documents[1].kind',
        message: 'unknown kind "Rollout": must be one of ReleaseTarget, AnalysisTemplate',
        line: firstDocLines + 3,
      },
      {
        document: 2,
        path: 'documents[2].kind',
        message: 'required: one of ReleaseTarget, AnalysisTemplate',
        // Where the field belongs: the document's mapping.
        line: firstDocLines + 6,
      },
    ]);
  });

  it("refuses the same template name twice in one file; a target may share a template's name", () => {
    const errors = errorsOf(file(templateDoc('api'), doc(), templateDoc('api')));
    expect(errors.map((e) => [e.path, e.message])).toEqual([
      [
        'documents[2].metadata.name',
        'duplicate analysis template name "api": documents[0] already uses it; names must be unique',
      ],
    ]);
  });

  describe('checkTemplateReferences', () => {
    it('accepts references to an inline template, a template of the same file, or a stored one', () => {
      const { targets, templates } = parsedOf(
        file(
          templateDoc('in-file'),
          doc((d) => {
            d.spec.analysis = { templates: [{ ...templateDoc('inline').spec, name: 'inline' }] };
            d.spec.strategy.blueGreen.prePromotionAnalysis = {
              templates: [{ templateName: 'inline' }, { templateName: 'in-file' }],
            };
            d.spec.strategy.blueGreen.postPromotionAnalysis = { templates: [{ templateName: 'stored' }] };
          }),
        ),
      );
      expect(checkTemplateReferences(targets, templates, new Set(['stored']))).toEqual([]);
      // The file order does not matter: a target may come before the template it uses.
      const reversed = parsedOf(file(usesPre('later'), templateDoc('later')));
      expect(checkTemplateReferences(reversed.targets, reversed.templates, new Set())).toEqual([]);
    });

    it('reports an unresolved reference with its path and line, saying where it looked', () => {
      const text = [
        'apiVersion: switchyard.dev/v1alpha1', // 1
        'kind: ReleaseTarget', // 2
        'metadata: {name: api}', // 3
        'spec:', // 4
        '  image: {repository: us-docker.pkg.dev/acme/apps/api}', // 5
        '  cluster: {context: local}', // 6
        '  namespace: shop', // 7
        '  workload: api', // 8
        '  strategy:', // 9
        '    blueGreen:', // 10
        '      activeService: api', // 11
        '      postPromotionAnalysis:', // 12
        '        templates:', // 13
        '          - templateName: known', // 14
        '          - templateName: missing', // 15
      ].join('\n');
      const { targets, templates } = parsedOf(`${file(templateDoc('unused'))}---\n${text}`);
      const line = file(templateDoc('unused')).split('\n').length - 1 + 1 + 15;
      expect(checkTemplateReferences(targets, templates, new Set(['known']))).toEqual([
        {
          document: 1,
          path: 'documents[1].spec.strategy.blueGreen.postPromotionAnalysis.templates[1].templateName',
          message:
            'no analysis template "missing": it is neither in spec.analysis.templates, nor an AnalysisTemplate of this file, nor stored; define it, or apply it first',
          line,
        },
      ]);
      // Without the stored names (validate offline) the message says they were not looked at.
      expect(
        checkTemplateReferences(targets, templates, new Set(), 'unchecked').map((e) => [
          e.path,
          e.message,
          e.line,
        ]),
      ).toEqual([
        [
          'documents[1].spec.strategy.blueGreen.postPromotionAnalysis.templates[0].templateName',
          'no analysis template "known" in spec.analysis.templates (not in this file; apply checks stored templates)',
          line - 1,
        ],
        [
          'documents[1].spec.strategy.blueGreen.postPromotionAnalysis.templates[1].templateName',
          'no analysis template "missing" in spec.analysis.templates (not in this file; apply checks stored templates)',
          line,
        ],
      ]);
    });

    it('gives the index in the list as document for targets that do not come from a file', () => {
      const checked = validateReleaseTarget(usesPre('x'));
      if (!('target' in checked)) throw new Error('fixture is invalid');
      expect(checkTemplateReferences([target(), checked.target], [], new Set())).toEqual([
        {
          document: 1,
          path: 'documents[1].spec.strategy.blueGreen.prePromotionAnalysis.templates[0].templateName',
          message: expect.stringContaining('no analysis template "x"'),
        },
      ]);
    });
  });
});

describe('validateReleaseTarget', () => {
  it('gives paths without the document head when asked (documents read back from storage)', () => {
    const result = validateReleaseTarget(
      doc((d) => delete d.spec.workload),
      null,
    );
    expect(result).toEqual({ errors: [{ document: 0, path: 'spec.workload', message: 'required' }] });
  });
});

describe('image matching', () => {
  const t = target((d) => (d.spec.image.tagFilter = '^v\\d+\\.\\d+\\.\\d+$'));

  it('passes tags through the filter (push intake lets every tag through without one)', () => {
    const filter = t.spec.image.tagFilter!;
    expect(matchTagFilter(filter, 'v1.2.3')).toBe(true);
    expect(matchTagFilter(filter, 'v1.2.3-rc.1')).toBe(false);
    expect(matchTagFilter(filter, 'latest')).toBe(false);
    expect(target().spec.image.tagFilter).toBeUndefined();
  });
});

describe('examples/', () => {
  const dir = join(import.meta.dirname, '..', '..', 'examples');
  const examples = readdirSync(dir).filter((f) => f.endsWith('.yaml'));

  it('has the documented examples', () => {
    expect(examples).toEqual(
      expect.arrayContaining(['blue-green.yaml', 'minimal.yaml', 'local-demo.yaml', 'analysis.yaml']),
    );
  });

  it.each(examples)('%s validates, every analysis reference resolved in the file', (name) => {
    const result = parseReleaseTargets(readFileSync(join(dir, name), 'utf8'), name);
    expect(result).not.toHaveProperty('errors');
    if ('errors' in result) return;
    expect(checkTemplateReferences(result.targets, result.templates, new Set())).toEqual([]);
  });

  it('analysis.yaml uses its named template before and after promotion', () => {
    const { targets, templates } = parsedOf(readFileSync(join(dir, 'analysis.yaml'), 'utf8'));
    expect(templates.map((t) => t.name)).toEqual(['error-rate']);
    expect(templates[0]?.metrics[0]?.provider.kind).toBe('prometheus');
    const bg = targets[0]!.spec.strategy.blueGreen!;
    expect(bg.prePromotionAnalysis?.templates).toEqual([{ templateName: 'error-rate' }]);
    expect(bg.postPromotionAnalysis?.templates).toEqual([{ templateName: 'error-rate' }]);
  });

  it('blue-green.yaml sets every blue-green option', () => {
    const [bg] = targetsOf(readFileSync(join(dir, 'blue-green.yaml'), 'utf8'));
    expect(Object.keys(bg!.spec.strategy.blueGreen!).sort()).toEqual(
      [
        'abortScaleDownDelaySeconds',
        'activeService',
        'autoPromotionEnabled',
        'autoPromotionSeconds',
        'previewReplicaCount',
        'previewService',
        'scaleDownDelaySeconds',
      ].sort(),
    );
  });
});
