// The ReleaseTarget and AnalysisTemplate schemas, read through the YAML front door: defaults, the
// rules of each field, trafficRouting by the routers' own schemas, the tag filter the push handler
// relies on, and the examples.
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { doc, errorsOf, file, type Loose, parsedOf, target, targetsOf } from './fixtures.ts';
import { checkTemplateReferences } from './references.ts';
import { matchTagFilter } from './tag-filter.ts';
import { validateReleaseTarget } from './validate.ts';
import { parseReleaseTargets } from './yaml.ts';

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
