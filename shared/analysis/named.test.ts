// withNamedTemplates: the named templates a target references are added to its templates, inline
// ones win, and the loader is asked only for what is missing.
import { describe, expect, it, vi } from 'vitest';
import { referencedTemplateNames, withNamedTemplates } from './named.ts';
import type { AnalysisRef, AnalysisTemplate } from './schema.ts';

function template(name: string, query = `up{job="${name}"}`): AnalysisTemplate {
  return {
    name,
    metrics: [
      {
        name: 'm',
        count: 1,
        failureLimit: 0,
        inconclusiveLimit: 0,
        consecutiveErrorLimit: 4,
        dryRun: false,
        noDataPhase: 'Inconclusive',
        provider: { kind: 'prometheus', config: { address: 'http://prometheus:9090', query } },
      },
    ],
  };
}

const ref = (...names: string[]): AnalysisRef => ({
  templates: names.map((templateName) => ({ templateName })),
});

function target(opts: { inline?: AnalysisTemplate[]; pre?: AnalysisRef; post?: AnalysisRef }) {
  return {
    name: 'api',
    generation: 3,
    spec: {
      namespace: 'shop',
      ...(opts.inline ? { analysis: { templates: opts.inline } } : {}),
      strategy: {
        blueGreen: {
          activeService: 'api',
          ...(opts.pre ? { prePromotionAnalysis: opts.pre } : {}),
          ...(opts.post ? { postPromotionAnalysis: opts.post } : {}),
        },
      },
    },
  };
}

describe('withNamedTemplates', () => {
  it('appends the referenced named templates after the inline ones, keeping every other field', async () => {
    const t = target({ inline: [template('smoke')], pre: ref('smoke', 'errors'), post: ref('latency') });
    const store = new Map([
      ['errors', template('errors')],
      ['latency', template('latency')],
    ]);
    const load = vi.fn(async (names: string[]) => names.flatMap((n) => store.get(n) ?? []));
    const out = await withNamedTemplates(t, load);
    expect(load).toHaveBeenCalledExactlyOnceWith(['errors', 'latency']);
    expect(out.spec.analysis?.templates.map((x) => x.name)).toEqual(['smoke', 'errors', 'latency']);
    expect(out).toMatchObject({ name: 'api', generation: 3, spec: { namespace: 'shop' } });
    expect(out.spec.strategy).toBe(t.spec.strategy);
    // The input is left as it was (targets may be cached by the caller).
    expect(t.spec.analysis?.templates.map((x) => x.name)).toEqual(['smoke']);
  });

  it('lets an inline template win over a named one of the same name', async () => {
    const inline = template('errors', 'inline');
    const t = target({ inline: [inline], pre: ref('errors'), post: ref('errors') });
    const load = vi.fn(async () => [template('errors', 'named')]);
    expect(await withNamedTemplates(t, load)).toBe(t);
    expect(load).not.toHaveBeenCalled();
  });

  it('creates spec.analysis when the target has no inline templates', async () => {
    const t = target({ post: ref('errors') });
    const out = await withNamedTemplates(t, async () => [template('errors')]);
    expect(out.spec.analysis?.templates).toEqual([template('errors')]);
  });

  it('leaves a template the loader does not find missing, and ignores what was not asked for', async () => {
    const t = target({ pre: ref('errors', 'gone') });
    const out = await withNamedTemplates(t, async () => [
      template('errors'),
      template('errors', 'again'),
      template('unrelated'),
    ]);
    // resolveAnalysis reports "gone" as not found when the analysis starts.
    expect(out.spec.analysis?.templates).toEqual([template('errors')]);
    expect(await withNamedTemplates(target({ pre: ref('gone') }), async () => [])).toEqual(
      target({ pre: ref('gone') }),
    );
  });

  it('does not call the loader for a target without analysis', async () => {
    const load = vi.fn(async () => []);
    const t = target({});
    expect(await withNamedTemplates(t, load)).toBe(t);
    expect(load).not.toHaveBeenCalled();
    expect(referencedTemplateNames(target({ pre: ref('a', 'b'), post: ref('b', 'c') }))).toEqual([
      'a',
      'b',
      'c',
    ]);
  });

  it('passes a loader failure on (the caller decides what a Firestore error means)', async () => {
    await expect(
      withNamedTemplates(target({ pre: ref('errors') }), async () => {
        throw new Error('unavailable');
      }),
    ).rejects.toThrow('unavailable');
  });
});
