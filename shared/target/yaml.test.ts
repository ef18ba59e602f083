// The YAML front door: a file of several documents, every problem of every document with its path
// and line, YAML syntax errors with their column, names unique per kind in the file.
import { describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { doc, errorsOf, file, targetsOf, templateDoc } from './fixtures.ts';

describe('parseReleaseTargets', () => {
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
});
