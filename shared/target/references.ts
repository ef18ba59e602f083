// Checks across the documents of a file and what is stored or configured beside it: that the
// strategies' analysis references name templates that exist, and that kubeconfig contexts exist.
// Each error has the path and line of the reference when the target came from parseReleaseTargets.
import type { AnalysisTemplate } from '../analysis/schema.ts';
import { formatPath, sortErrors, type TargetError } from './problems.ts';
import type { ReleaseTarget } from './schema.ts';
import { sourceOf } from './validate.ts';

/** The analysis references of a target's strategy: which key, which position, which template. */
function referencesOf(target: ReleaseTarget): { path: PropertyKey[]; templateName: string }[] {
  const { blueGreen: bg, canary } = target.spec.strategy;
  const refs = (ref: { templates: { templateName: string }[] } | undefined, at: PropertyKey[]) =>
    (ref?.templates ?? []).map((t, i) => ({
      path: [...at, 'templates', i, 'templateName'],
      templateName: t.templateName,
    }));
  return [
    ...(['prePromotionAnalysis', 'postPromotionAnalysis'] as const).flatMap((key) =>
      refs(bg?.[key], ['spec', 'strategy', 'blueGreen', key]),
    ),
    ...refs(canary?.analysis, ['spec', 'strategy', 'canary', 'analysis']),
    ...(canary?.steps ?? []).flatMap((step, i) =>
      'analysis' in step ? refs(step.analysis, ['spec', 'strategy', 'canary', 'steps', i, 'analysis']) : [],
    ),
    ...refs(target.spec.drain, ['spec', 'drain']),
  ];
}

/**
 * An error at `path` of the `i`th of `targets`: with the document index and line the target was
 * read with (parseReleaseTargets), otherwise with `i` as its document.
 */
export function errorAt(
  target: ReleaseTarget,
  i: number,
  path: readonly PropertyKey[],
  message: string,
): TargetError {
  const source = sourceOf(target);
  const document = source?.document ?? i;
  return {
    document,
    path: formatPath(document, path),
    message,
    ...(source ? { line: source.line(path) } : {}),
  };
}

/**
 * Checks that every analysis reference of every target names a template that exists: one of the
 * target's own (spec.analysis.templates), a named template of the same file (`templates`), or a
 * stored named template (`known`). Returns one error per unresolved reference, with the path and
 * line of its templateName (line and document index when the target came from
 * parseReleaseTargets; otherwise its index in `targets`), sorted like parse errors.
 * `stored: 'unchecked'` says that `known` could not be read (e.g. validate without Firestore):
 * the message then says that stored templates were not looked at, instead of claiming there is
 * none.
 */
export function checkTemplateReferences(
  targets: readonly ReleaseTarget[],
  templates: readonly AnalysisTemplate[],
  known: ReadonlySet<string>,
  stored: 'checked' | 'unchecked' = 'checked',
): TargetError[] {
  const inFile = new Set(templates.map((t) => t.name));
  const errors: TargetError[] = [];
  targets.forEach((target, i) => {
    const inline = new Set((target.spec.analysis?.templates ?? []).map((t) => t.name));
    for (const ref of referencesOf(target)) {
      const name = ref.templateName;
      if (inline.has(name) || inFile.has(name) || known.has(name)) continue;
      const message =
        stored === 'checked'
          ? `no analysis template "${name}": it is neither in spec.analysis.templates, nor an AnalysisTemplate of this file, nor stored; define it, or apply it first`
          : `no analysis template "${name}" in spec.analysis.templates (not in this file; apply checks stored templates)`;
      errors.push(errorAt(target, i, ref.path, message));
    }
  });
  return sortErrors(errors);
}

/**
 * Checks that every target whose cluster is a kubeconfig context names a context of `contexts`,
 * the contexts of the kubeconfig at `kubeconfig` (what the functions will connect with; GKE cluster
 * names are not checked here). A context that does not exist would leave its releases Pending.
 * One error per unknown context, with path and line as checkTemplateReferences gives them.
 */
export function checkClusterContexts(
  targets: readonly ReleaseTarget[],
  contexts: readonly string[],
  kubeconfig: string,
): TargetError[] {
  const known = new Set(contexts);
  const listed = contexts.length ? contexts.map((c) => JSON.stringify(c)).join(', ') : 'none';
  return targets.flatMap((target, i) => {
    const { cluster } = target.spec;
    if (!('context' in cluster) || known.has(cluster.context)) return [];
    const message = `no context ${JSON.stringify(cluster.context)} in kubeconfig ${kubeconfig} (contexts: ${listed}): name one of them, or a GKE cluster with gke: projects/P/locations/L/clusters/C`;
    return [errorAt(target, i, ['spec', 'cluster', 'context'], message)];
  });
}
