// Analysis references across documents: inline, in the file, stored, or reported with path and line.
import { describe, expect, it } from 'vitest';
import { doc, file, parsedOf, target, templateDoc, usesPre } from './fixtures.ts';
import { checkTemplateReferences } from './references.ts';
import { validateReleaseTarget } from './validate.ts';

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

  it("checks the templates of spec.drain like the strategy's, and defaults its wait to 300 s", () => {
    const { targets, templates } = parsedOf(
      file(
        doc((d) => {
          d.spec.drain = { templates: [{ templateName: 'connections' }] };
        }),
      ),
    );
    expect(targets[0]!.spec.drain?.maxWaitSeconds).toBe(300);
    expect(checkTemplateReferences(targets, templates, new Set(['connections']))).toEqual([]);
    expect(checkTemplateReferences(targets, templates, new Set()).map((e) => e.path)).toEqual([
      'documents[0].spec.drain.templates[0].templateName',
    ]);
  });
});
