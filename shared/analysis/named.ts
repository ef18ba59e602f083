// Named analysis templates (SPEC §7): a strategy may reference a template applied on its own
// (`kind: AnalysisTemplate`) instead of one written under the target's spec.analysis.templates.
// The engine resolves references against one list of templates (resolve.ts), so the named ones a
// target needs are added to that list where the target is loaded.
import type { AnalysisRef, AnalysisTemplate } from './schema.ts';

/** The part of a target this module reads: its inline templates and its analysis references. */
interface TargetWithAnalysis {
  spec: {
    analysis?: { templates: AnalysisTemplate[] };
    strategy: {
      blueGreen?: { prePromotionAnalysis?: AnalysisRef; postPromotionAnalysis?: AnalysisRef };
      canary?: { analysis?: AnalysisRef; steps: object[] };
    };
    drain?: AnalysisRef;
  };
}

/** Names of the templates the strategy references, each once, in order of first reference. */
export function referencedTemplateNames(target: TargetWithAnalysis): string[] {
  const { blueGreen, canary } = target.spec.strategy;
  const stepRefs = (canary?.steps ?? []).map((s) =>
    'analysis' in s ? (s.analysis as AnalysisRef) : undefined,
  );
  const refs = [
    blueGreen?.prePromotionAnalysis,
    blueGreen?.postPromotionAnalysis,
    canary?.analysis,
    ...stepRefs,
    target.spec.drain,
  ];
  const names = refs.flatMap((ref) => (ref?.templates ?? []).map((t) => t.templateName));
  return [...new Set(names)];
}

/**
 * Returns `target` with the named templates its strategy references but does not define inline
 * appended to `spec.analysis.templates`, loaded with `load` (e.g. `TargetStore.templates`). An
 * inline template wins over a named one of the same name: the target's author wrote it next to the
 * reference. `load` is called once, and only when something is missing; a name it does not return
 * stays missing, and resolveAnalysis reports it when the analysis starts. The target passed in is
 * not changed.
 */
export async function withNamedTemplates<T extends TargetWithAnalysis>(
  target: T,
  load: (names: string[]) => Promise<AnalysisTemplate[]>,
): Promise<T> {
  const inline = target.spec.analysis?.templates ?? [];
  const own = new Set(inline.map((t) => t.name));
  const missing = referencedTemplateNames(target).filter((name) => !own.has(name));
  if (missing.length === 0) return target;
  const wanted = new Set(missing);
  const added: AnalysisTemplate[] = [];
  for (const template of await load(missing)) {
    // Only what was asked for, once each: a loader that returns more (or twice) cannot add
    // templates the target did not reference, nor make one name ambiguous.
    if (wanted.delete(template.name)) added.push(template);
  }
  if (added.length === 0) return target;
  // The spread keeps every other field of T; TypeScript cannot see that replacing `spec` by a
  // value of the same shape gives a T again.
  return {
    ...target,
    spec: { ...target.spec, analysis: { ...target.spec.analysis, templates: [...inline, ...added] } },
  } as T;
}
