// Turns a strategy's analysis reference into the metrics to run: templates found by name, their
// args given values ({{args.NAME}}), and facts of the release ({{release.NAME}}) substituted into
// every string of the provider configuration. Pure; a missing template or arg is an error message.
import type { MetricSpec } from './run.ts';
import type { AnalysisRef, AnalysisTemplate } from './schema.ts';

/** Release facts templates may use as {{release.NAME}}. */
export interface ReleaseFacts {
  id: string;
  namespace: string;
  workload: string;
  activeService: string;
  previewService: string;
  greenRevision: string;
  greenDeployment: string;
  blueRevision: string;
  image: string;
}

const placeholder = /\{\{\s*(args|release)\.([A-Za-z0-9_-]+)\s*\}\}/g;

function substitute(
  value: unknown,
  vars: { args: Record<string, string>; release: Record<string, string> },
  missing: Set<string>,
): unknown {
  if (typeof value === 'string') {
    return value.replace(placeholder, (whole, scope: 'args' | 'release', key: string) => {
      const v = vars[scope][key];
      if (v === undefined) {
        missing.add(`${scope}.${key}`);
        return whole;
      }
      return v;
    });
  }
  if (Array.isArray(value)) return value.map((v) => substitute(v, vars, missing));
  if (value && typeof value === 'object') {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, substitute(v, vars, missing)]));
  }
  return value;
}

export function resolveAnalysis(
  ref: AnalysisRef,
  templates: AnalysisTemplate[],
  facts: ReleaseFacts,
): MetricSpec[] | { error: string } {
  const given = Object.fromEntries((ref.args ?? []).map((a) => [a.name, a.value]));
  const specs: MetricSpec[] = [];
  for (const { templateName } of ref.templates) {
    const template = templates.find((t) => t.name === templateName);
    if (!template)
      return {
        error: `analysis template "${templateName}" not found: define it under spec.analysis.templates or apply it`,
      };
    const args: Record<string, string> = {};
    for (const a of template.args ?? []) {
      const v = given[a.name] ?? a.value;
      if (v === undefined)
        return { error: `analysis template "${templateName}" needs a value for arg "${a.name}"` };
      args[a.name] = v;
    }
    for (const m of template.metrics) {
      const missing = new Set<string>();
      const config = substitute(m.provider.config, { args, release: { ...facts } }, missing);
      if (missing.size) {
        return {
          error: `metric "${m.name}" of template "${templateName}" uses undefined ${[...missing].map((x) => `{{${x}}}`).join(', ')}`,
        };
      }
      specs.push({
        name: m.name,
        template: templateName,
        intervalSeconds: m.interval ?? 0,
        count: m.count,
        initialDelaySeconds: m.initialDelay ?? 0,
        ...(m.successCondition ? { successCondition: m.successCondition } : {}),
        ...(m.failureCondition ? { failureCondition: m.failureCondition } : {}),
        failureLimit: m.failureLimit,
        inconclusiveLimit: m.inconclusiveLimit,
        consecutiveErrorLimit: m.consecutiveErrorLimit,
        dryRun: m.dryRun,
        noDataPhase: m.noDataPhase,
        provider: { kind: m.provider.kind, config },
      });
    }
  }
  const names = specs.map((s) => s.name);
  const twice = names.find((n, i) => names.indexOf(n) !== i);
  if (twice) return { error: `metric name "${twice}" is used by two templates of one analysis; rename one` };
  return specs;
}
