// The ReleaseTarget schema and its YAML front door: defaults, every error with path and line, and
// the image matching the push handler relies on.
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import {
  matchesImage,
  parseImageRef,
  parseReleaseTargets,
  type ReleaseTarget,
  type ReleaseTargetInput,
  type TargetError,
  tagAllowed,
  validateReleaseTarget,
} from './schema.ts';

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

function targetsOf(text: string): ReleaseTarget[] {
  const result = parseReleaseTargets(text, 'test.yaml');
  if (!('targets' in result)) throw new Error(`expected targets, got ${JSON.stringify(result.errors)}`);
  return result.targets;
}

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
    expect(error?.message).toMatch(/^invalid regular expression: .*Unterminated group/);
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
  const digest = `sha256:${'0123456789abcdef'.repeat(4)}`;

  it('matches references of exactly the target repository, by tag or digest', () => {
    expect(matchesImage(t, 'us-docker.pkg.dev/acme/apps/api:v1.2.3')).toBe(true);
    expect(matchesImage(t, `us-docker.pkg.dev/acme/apps/api@${digest}`)).toBe(true);
    expect(matchesImage(t, `us-docker.pkg.dev/acme/apps/api:v1.2.3@${digest}`)).toBe(true);
    expect(matchesImage(t, 'us-docker.pkg.dev/acme/apps/api')).toBe(true);
    expect(matchesImage(t, 'us-docker.pkg.dev/acme/apps/api-worker:v1.2.3')).toBe(false);
    expect(matchesImage(t, 'us-docker.pkg.dev/acme/apps/api/sub:v1.2.3')).toBe(false);
    expect(matchesImage(t, 'europe-docker.pkg.dev/acme/apps/api:v1.2.3')).toBe(false);
    expect(matchesImage(t, 'us-docker.pkg.dev/acme/apps/api@sha256:short')).toBe(false);
  });

  it('splits references, telling a registry port from a tag', () => {
    expect(parseImageRef('localhost:5000/apps/api')).toEqual({ repository: 'localhost:5000/apps/api' });
    expect(parseImageRef('localhost:5000/apps/api:v1')).toEqual({
      repository: 'localhost:5000/apps/api',
      tag: 'v1',
    });
    expect(parseImageRef(`h.io/a/b:v1@${digest}`)).toEqual({ repository: 'h.io/a/b', tag: 'v1', digest });
    expect(parseImageRef('h.io/a/b:')).toBeNull();
  });

  it('passes tags through the filter, and every tag without one', () => {
    expect(tagAllowed(t, 'v1.2.3')).toBe(true);
    expect(tagAllowed(t, 'v1.2.3-rc.1')).toBe(false);
    expect(tagAllowed(t, 'latest')).toBe(false);
    expect(tagAllowed(target(), 'latest')).toBe(true);
  });
});

describe('examples/', () => {
  const dir = join(import.meta.dirname, '..', '..', 'examples');
  const examples = readdirSync(dir).filter((f) => f.endsWith('.yaml'));

  it('has the documented examples', () => {
    expect(examples).toEqual(expect.arrayContaining(['blue-green.yaml', 'minimal.yaml', 'local-demo.yaml']));
  });

  it.each(examples)('%s validates', (name) => {
    const result = parseReleaseTargets(readFileSync(join(dir, name), 'utf8'), name);
    expect(result).not.toHaveProperty('errors');
  });

  it('blue-green.yaml sets every blue-green option', () => {
    const [bg] = targetsOf(readFileSync(join(dir, 'blue-green.yaml'), 'utf8'));
    expect(Object.keys(bg!.spec.strategy.blueGreen).sort()).toEqual(
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
