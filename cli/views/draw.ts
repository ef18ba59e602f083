// The text of `switchyard get` (and of `watch` on a terminal): a header like `kubectl argo rollouts
// get rollout` — name, namespace, target, strategy, status, step and weights, images — then the tree
// of revisions with their Deployments and the analysis runs that measured them. Pure.
import type { Phase } from '../../shared/engine/phase.ts';
import { age, width } from '../output.ts';
import type { AnalysisRunView, GetView, MeasurementView, MetricView, RevisionView } from './release-view.ts';
import { drawTree, symbols, type TreeNode } from './tree.ts';

/** The symbol of a release phase: ✔ done, ✖ failed or rolled back, ॥ waiting for a human, ◌ moving. */
export function phaseSymbol(phase: Phase, paused: boolean): string {
  if (phase === 'Succeeded') return symbols.ok;
  if (phase === 'Failed' || phase === 'RolledBack' || phase === 'Aborted') return symbols.failed;
  if (phase === 'Superseded') return symbols.inactive;
  if (paused || phase === 'AwaitingPromotion') return symbols.paused;
  return symbols.progressing;
}

export function phaseText(phase: Phase, paused: boolean): string {
  return `${phaseSymbol(phase, paused)} ${phase}${paused && phase !== 'AwaitingPromotion' ? ' (paused)' : ''}`;
}

/** Symbol of an analysis run, metric or measurement phase. */
export function analysisSymbol(phase: string): string {
  switch (phase) {
    case 'Successful':
      return symbols.ok;
    case 'Failed':
      return symbols.failed;
    case 'Inconclusive':
      return symbols.inconclusive;
    case 'Error':
      return symbols.error;
    default:
      return symbols.progressing;
  }
}

const revisionSymbols: Record<RevisionView['status'], string> = {
  Healthy: symbols.ok,
  Progressing: symbols.progressing,
  Degraded: symbols.failed,
  ScaledDown: symbols.inactive,
};

/** `repository:tag@sha256:<12 hex>`: enough of the digest to tell revisions apart. */
export function shortImage(image: string, tag: string | null): string {
  const at = image.indexOf('@');
  const repository = at < 0 ? image : image.slice(0, at);
  const digest = at < 0 ? '' : `@${shortDigest(image.slice(at + 1))}`;
  return `${repository}${tag ? `:${tag}` : ''}${digest}`;
}

export function shortDigest(digest: string): string {
  const [algorithm, hex] = digest.split(':');
  return hex ? `${algorithm}:${hex.slice(0, 12)}` : digest;
}

function clip(text: string, max: number): string {
  return width(text) <= max ? text : `${[...text].slice(0, max - 1).join('')}…`;
}

function formatValue(value: unknown): string {
  return clip(typeof value === 'string' ? value : JSON.stringify(value), 40);
}

/** The header: `Label:` then the value, values aligned at column 17 as in Argo Rollouts' plugin. */
function header(v: GetView): string[] {
  const lines: string[] = [];
  const row = (label: string, value: string) => lines.push(`${`${label}:`.padEnd(16)} ${value}`);
  const r = v.release;
  row('Name', r ? r.id : `${v.target} (no release yet)`);
  row('Namespace', v.namespace ?? '-');
  row(
    'Target',
    `${v.target}${v.workload ? ` (workload ${v.workload}${v.cluster ? `, cluster ${v.cluster}` : ''})` : ' (no longer stored)'}`,
  );
  row('Strategy', v.strategy);
  if (v.canary) {
    const c = v.canary;
    const sub = (label: string, value: string) => lines.push(`  ${`${label}:`.padEnd(14)} ${value}`);
    sub('Step', `${c.stepIndex}/${c.steps}${c.current ? `  ${c.current}` : '  all steps done'}`);
    sub('SetWeight', String(c.setWeight));
    sub(
      'ActualWeight',
      c.actualWeight === null
        ? 'not read yet'
        : `${c.actualWeight}${
            c.accepted === false
              ? ` (not accepted yet${c.routerMessage ? `: ${c.routerMessage}` : ''})`
              : c.routerMessage
                ? ` (${clip(c.routerMessage, 100)})`
                : ''
          }`,
    );
    if (c.headerRoute) sub('HeaderRoute', c.headerRoute);
  }
  if (r) {
    row('Status', phaseText(r.phase, r.paused));
    if (r.reason) row('Message', r.reason);
    const by = r.requestedBy ? ` by ${r.requestedBy}` : '';
    row('Trigger', `${r.trigger}${r.tag ? `, tag ${r.tag}` : ''}${by}`);
  } else {
    row('Status', `${symbols.inactive} no release yet`);
  }
  v.images.forEach((image, i) => {
    const text = `${shortImage(image.image, image.tag)} (${image.roles.join(', ')})`;
    if (i === 0) row('Images', text);
    else lines.push(`${' '.repeat(17)}${text}`);
  });
  return lines;
}

function counts(m: { successful: number; failed: number; inconclusive: number; errors: number }): string {
  const parts = [
    [symbols.ok, m.successful],
    [symbols.failed, m.failed],
    [symbols.inconclusive, m.inconclusive],
    [symbols.error, m.errors],
  ] as const;
  return parts
    .filter(([, n]) => n > 0)
    .map(([s, n]) => `${s} ${n}`)
    .join(',');
}

function lastMeasurement(m: MeasurementView, now: number): string {
  const at = Date.parse(m.finishedAt ?? m.startedAt);
  const value = m.value === undefined ? '' : ` ${formatValue(m.value)}`;
  const message = m.message ? ` ${clip(m.message, 60)}` : '';
  return `last #${m.number} ${analysisSymbol(m.phase)}${value}${message} (${age(at, now)} ago)`;
}

function metricNode(m: MetricView, now: number): TreeNode {
  const done = m.successful + m.failed + m.inconclusive + m.errors;
  const info = [
    `${m.provider}${m.dryRun ? ' (dry run)' : ''}`,
    `${done}/${m.count}${counts(m) ? ` ${counts(m)}` : ''}`,
    m.last ? lastMeasurement(m.last, now) : 'no measurement yet',
  ];
  return {
    glyph: '◇',
    name: m.name,
    kind: 'Metric',
    status: `${analysisSymbol(m.phase)} ${m.phase}`,
    info: info.join('  '),
    children: [],
  };
}

function runNode(run: AnalysisRunView, now: number): TreeNode {
  const total = run.metrics.reduce(
    (sum, m) => ({
      successful: sum.successful + m.successful,
      failed: sum.failed + m.failed,
      inconclusive: sum.inconclusive + m.inconclusive,
      errors: sum.errors + m.errors,
    }),
    { successful: 0, failed: 0, inconclusive: 0, errors: 0 },
  );
  return {
    glyph: 'α',
    name: run.name,
    kind: 'AnalysisRun',
    status: `${analysisSymbol(run.phase)} ${run.phase}`,
    info: [counts(total), run.message ? clip(run.message, 80) : ''].filter(Boolean).join('  '),
    children: run.metrics.map((m) => metricNode(m, now)),
  };
}

function revisionNode(rev: RevisionView, runs: AnalysisRunView[], now: number): TreeNode {
  const info = [
    rev.roles.join(','),
    `ready:${rev.ready}/${rev.desired}`,
    rev.tag ?? '',
    rev.digest ? shortDigest(rev.digest) : '',
  ];
  return {
    glyph: '#',
    name: `revision:${rev.revision}`,
    kind: '',
    status: '',
    info: rev.release ? `from ${rev.release}` : '',
    children: [
      {
        glyph: '⧉',
        name: rev.deployment,
        kind: 'Deployment',
        status: `${revisionSymbols[rev.status]} ${rev.status}`,
        info: info.filter(Boolean).join('  '),
        children: [],
      },
      ...runs.filter((run) => run.revision === rev.revision).map((run) => runNode(run, now)),
    ],
  };
}

/** The tree under the header: target, revisions (Deployment, analysis runs), the adopted original. */
export function viewTree(v: GetView, now: number): TreeNode {
  const revisions = v.revisions ?? [];
  const shown = new Set(revisions.map((r) => r.revision));
  const r = v.release;
  const root: TreeNode = {
    glyph: '⟳',
    name: v.target,
    kind: 'Target',
    status: r ? phaseText(r.phase, r.paused) : `${symbols.inactive} NoRelease`,
    info: r ? `${r.id}  ${age(Date.parse(r.createdAt), now)}` : '',
    children: revisions.map((rev) => revisionNode(rev, v.analysis, now)),
  };
  // Runs whose revision is gone (removed after a rollback) or was not read hang off the target.
  for (const run of v.analysis) {
    if (!run.revision || !shown.has(run.revision)) root.children.push(runNode(run, now));
  }
  if (v.plainDeployment) {
    const p = v.plainDeployment;
    root.children.push({
      glyph: '⧉',
      name: p.name,
      kind: 'Deployment',
      status: p.replicas === 0 ? `${symbols.inactive} ScaledDown` : `${symbols.ok} Serving`,
      info: `plain Deployment  replicas:${p.replicas}  ${p.replicas === 0 ? 'adopted; kept at zero' : 'adopted by the first release'}`,
      children: [],
    });
  }
  return root;
}

/** The whole text of `switchyard get`. */
export function drawView(v: GetView, now: number): string {
  const lines = [...header(v), '', drawTree(viewTree(v, now))];
  if (v.clusterError) lines.push('', `Revisions not shown: ${v.clusterError}`);
  return lines.join('\n');
}
