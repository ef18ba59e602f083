// Generates the reference sections of README.md and infra/DEPLOY.md from their sources, so the docs
// cannot drift from what Switchyard accepts and is granted: the ReleaseTarget reference from the zod
// schema (through the JSON Schema that shared/target/json-schema.ts derives from it, and the metric
// providers' own schemas), the CLI reference from the commander program and its help registry
// (cli/program.ts, cli/help.ts), and DEPLOY.md's least-privilege tables from the Terraform module's
// IAM grants (infra/terraform/model.ts) and the Kubernetes Role's rules (shared/rbac.ts).
//
//   node scripts/docs.ts           rewrite the generated sections (npm run docs)
//   node scripts/docs.ts --check   exit 1 when a document is not what the sources generate
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { z } from 'zod';
import { commandDocs, exitCodeDocs, globalOptionDocs } from '../cli/help.ts';
import { buildProgram } from '../cli/program.ts';
import { type Grant, grants, identityLabel, loadModules, type Module } from '../infra/terraform/model.ts';
import { providerSchemas } from '../shared/analysis/providers/schemas.ts';
import { switchyardRules } from '../shared/rbac.ts';
import { releaseTargetJsonSchema } from '../shared/target/json-schema.ts';
import { functionNames, stepNames } from '../shared/topology.ts';

export const readmeFile = join(import.meta.dirname, '..', 'README.md');
export const deployFile = join(import.meta.dirname, '..', 'infra', 'DEPLOY.md');

/** The generated sections of the README, each between `<!-- reference:NAME:start -->` and `…:end -->`. */
export const sections = {
  'release-target': () => releaseTargetReference(),
  cli: () => cliReference(),
} as const;

export type SectionName = keyof typeof sections;

/** The generated sections of infra/DEPLOY.md, with the same markers. */
export const deploySections = {
  iam: () => iamReference(),
  'kubernetes-rbac': () => rbacReference(),
} as const;

export type DeploySectionName = keyof typeof deploySections;

type Generators = Record<string, () => string | Promise<string>>;

/** Every document with generated sections: its path (for messages), its file and its generators. */
export const documents: { name: string; file: string; sections: Generators }[] = [
  { name: 'README.md', file: readmeFile, sections },
  { name: 'infra/DEPLOY.md', file: deployFile, sections: deploySections },
];

/** A JSON Schema node, as much of it as the reference reads. */
interface Node {
  type?: string;
  const?: unknown;
  enum?: unknown[];
  default?: unknown;
  description?: string;
  properties?: Record<string, Node>;
  required?: string[];
  additionalProperties?: boolean | Node;
  items?: Node;
  anyOf?: Node[];
  minimum?: number;
  maximum?: number;
  minItems?: number;
  maxItems?: number;
}

/**
 * Descriptions of fields whose schema carries none yet (no `.describe()` in shared/**), by path.
 * docs.test.ts fails when an entry names a path that no longer exists or that has its own
 * description now, so this list only shrinks: move an entry into the schema, then remove it here.
 */
export const fallbackDescriptions: Record<string, string> = {
  metadata: 'Name and labels of the target.',
  'spec.analysis.templates': 'Analysis templates the strategy can reference by name.',
  'spec.analysis.templates[].name': 'Name a strategy references it by (templateName).',
  'spec.analysis.templates[].args':
    'Arguments the template needs; {{args.NAME}} in the provider settings is replaced by their values.',
  'spec.analysis.templates[].args[].name': 'Name of the argument.',
  'spec.analysis.templates[].metrics': 'What to measure; the run takes the worst phase of its metrics.',
  'spec.analysis.templates[].metrics[].name': 'Name of the metric, shown with its measurements.',
  'spec.strategy.canary.steps[]': 'One step: exactly one of the keys below.',
  'spec.strategy.canary.steps[].pause.duration': 'Whole seconds, or a duration like 30s, 5m, 1m30s.',
  'spec.strategy.canary.steps[].setCanaryScale':
    'Scale the canary apart from its traffic weight: exactly one of replicas, weight, matchTrafficWeight.',
  'spec.strategy.canary.steps[].setCanaryScale.replicas': 'A fixed number of canary replicas.',
  'spec.strategy.canary.steps[].setCanaryScale.weight': "A percentage of the stable revision's replicas.",
  'spec.strategy.canary.steps[].setCanaryScale.matchTrafficWeight': 'Follow the traffic weight again.',
  'spec.strategy.canary.steps[].setHeaderRoute':
    'Send requests that match a header (or an NGINX cookie) to the canary, whatever the weight.',
  'spec.strategy.canary.steps[].setHeaderRoute.name': 'Name of the route, shown by `switchyard get`.',
  'spec.strategy.canary.steps[].setHeaderRoute.match': 'The header to match (one).',
  'spec.strategy.canary.steps[].setHeaderRoute.match[].headerName': 'Header name.',
  'spec.strategy.canary.steps[].setHeaderRoute.match[].headerValue': 'The value to match.',
  'spec.strategy.canary.steps[].setHeaderRoute.match[].headerValue.exact': 'Exact value.',
  'spec.strategy.canary.abortScaleDownDelaySeconds':
    'After an abort, a failed check or a supersede, keep the canary revision this long before it is drained and scaled down (removed, unless aborted).',
  'provider.prometheus': 'A PromQL query to the Prometheus HTTP API.',
  'provider.prometheus.address':
    "The server's base URL; /api/v1/query is appended, so a path prefix (Thanos, a proxy) is kept. Exactly one of address and managed.",
  'provider.prometheus.managed':
    "Google Managed Prometheus: the project's global query endpoint, with the function's Google token.",
  'provider.prometheus.managed.project': 'The Google Cloud project.',
  'provider.prometheus.query': 'PromQL; {{args.NAME}} and {{release.NAME}} are substituted first.',
  'provider.prometheus.range': 'A range query over the window ending now instead of an instant query.',
  'provider.prometheus.range.seconds': 'How far back from now the window starts.',
  'provider.prometheus.range.stepSeconds': 'Resolution step of the range query.',
  'provider.prometheus.timeoutSeconds': 'Bound on the whole request; also the query timeout.',
  'provider.prometheus.headers':
    'Extra request headers, e.g. for a Prometheus behind an authenticating proxy.',
  'provider.prometheus.headers[].name': 'Header name.',
  'provider.prometheus.headers[].value': 'Header value.',
  'provider.cloudMonitoring': 'Cloud Monitoring time series of one metric type over a window ending now.',
  'provider.cloudMonitoring.project': 'The project whose time series are read.',
  'provider.cloudMonitoring.filter':
    'A Cloud Monitoring filter selecting a single metric type, e.g. metric.type="…" AND resource.type="…".',
  'provider.cloudMonitoring.windowSeconds': 'The interval read: from this long before now up to now.',
  'provider.cloudMonitoring.aggregation':
    'Passed to the API as aggregation.*; without it the raw points are read.',
  'provider.cloudMonitoring.aggregation.alignmentPeriodSeconds': 'Alignment period.',
  'provider.cloudMonitoring.aggregation.perSeriesAligner': 'An aligner such as ALIGN_RATE.',
  'provider.cloudMonitoring.aggregation.crossSeriesReducer': 'A reducer such as REDUCE_SUM.',
  'provider.cloudMonitoring.aggregation.groupByFields': 'Fields to group by when reducing.',
  'provider.cloudMonitoring.pick':
    'How points become the value: last (the newest point of each series, one number per series), or sum, mean, max, min over every point.',
  'provider.cloudMonitoring.timeoutSeconds': 'Bound on the whole measurement, all pages together.',
  'provider.web': 'One HTTP request, to a URL or to a Service through the Kubernetes API server proxy.',
  'provider.web.service':
    "A Service in the target's namespace, reached through the API server's service proxy.",
  'provider.web.service.name': 'Service name.',
  'provider.web.service.port': 'Port number or name.',
  'provider.web.service.scheme': 'http (default) or https.',
  'provider.web.method': 'HTTP method.',
  'provider.web.headers': 'Request headers.',
  'provider.web.headers[].name': 'Header name.',
  'provider.web.headers[].value': 'Header value.',
  'provider.web.body': 'Request body (POST and PUT).',
  'provider.web.timeoutSeconds': 'Bound on the request.',
  'provider.web.jsonPath':
    'Where the value is in the JSON answer, e.g. $.stats.errorRate; without it, the whole body.',
  'provider.web.successStatus': 'Statuses that count as an answer; default any 2xx.',
  'provider.job':
    "A Kubernetes Job in the target's namespace (e.g. integration tests against the preview Service); it passes when it completes.",
  'provider.job.spec': 'A batch/v1 JobSpec, as in a Job manifest.',
  'provider.job.metadata':
    "Extra labels and annotations for the Job (Switchyard's own labels take precedence).",
  'provider.job.metadata.labels': 'Labels.',
  'provider.job.metadata.annotations': 'Annotations.',
  'provider.job.timeoutSeconds':
    "How long the Job may take: the Job's activeDeadlineSeconds unless its spec sets one, and how long the measurement waits.",
};

/** Tables of the reference: each documents the fields under its path, down to the next table's. */
const tables: { path: string; title: string; intro?: string }[] = [
  { path: '', title: '`ReleaseTarget`' },
  { path: 'spec.strategy.blueGreen', title: '`spec.strategy.blueGreen`' },
  { path: 'spec.strategy.canary', title: '`spec.strategy.canary`' },
  {
    path: 'spec.strategy.blueGreen.prePromotionAnalysis',
    title:
      'Analysis references: `prePromotionAnalysis`, `postPromotionAnalysis`, canary `analysis` and `steps[].analysis`',
    intro: 'Which analysis templates to run, with values for their args (`{{args.NAME}}` in the templates).',
  },
  {
    path: 'spec.analysis.templates[]',
    title: '`spec.analysis.templates[]` (and the `spec` of an `AnalysisTemplate`)',
    intro:
      "An analysis template: its args and metrics, with Argo Rollouts' semantics. An `AnalysisTemplate` document has " +
      'the same fields in its `spec` (its name in `metadata.name`); it is applied on its own and any target may use it.',
  },
  ...Object.keys(providerSchemas).map((kind) => ({
    path: `provider.${kind}`,
    title: `Provider \`${kind}\``,
  })),
];
/** Where a metric names its provider: an open map in the schema, one of the provider tables here. */
const providerField = 'spec.analysis.templates[].metrics[].provider';
const tablePaths = new Set(tables.map((t) => t.path));

const safeMax = Number.MAX_SAFE_INTEGER;

function isObject(n: Node): boolean {
  return n.type === 'object' && n.properties !== undefined;
}

/** An object whose keys are open (a Kubernetes spec passed through): documented as a whole. */
function isOpen(n: Node): boolean {
  return isObject(n) && n.additionalProperties !== false;
}

/** Object alternatives: a union whose members are objects (cluster, steps, trafficRouting, …). */
function variants(n: Node): Node[] | null {
  return n.anyOf && n.anyOf.length > 0 && n.anyOf.every(isObject) ? n.anyOf : null;
}

/** The node without its descriptions, to recognise the same shape at another path. */
function shapeOf(n: Node): string {
  return JSON.stringify(n, (k, v) => (k === 'description' ? undefined : v));
}

const code = (s: unknown) => `\`${String(s)}\``;

function typeOf(n: Node): string {
  if (n.const !== undefined) return code(n.const);
  if (n.enum) return n.enum.map(code).join(' | ');
  const alternatives = variants(n);
  if (alternatives) {
    const keys = alternatives.flatMap((v) => Object.keys(v.properties ?? {}));
    return `object with one of: ${keys.map(code).join(', ')}`;
  }
  if (n.anyOf) return n.anyOf.map(typeOf).join(' or ');
  switch (n.type) {
    case 'integer':
    case 'number': {
      const min = n.minimum;
      const max = n.maximum !== undefined && n.maximum < safeMax ? n.maximum : undefined;
      if (min !== undefined && max !== undefined) return `${n.type} ${min}–${max}`;
      if (min !== undefined) return `${n.type} ≥ ${min}`;
      return n.type;
    }
    case 'array': {
      const item = !n.items ? 'any' : variants(n.items) ? 'object' : typeOf(n.items);
      const { minItems: lo, maxItems: hi } = n;
      const bounds =
        lo !== undefined && hi !== undefined
          ? ` (${lo}–${hi})`
          : lo
            ? ` (at least ${lo})`
            : hi
              ? ` (at most ${hi})`
              : '';
      return `list of ${item}${bounds}`;
    }
    case 'object':
      if (!n.properties && n.additionalProperties && typeof n.additionalProperties === 'object')
        return `map of string to ${typeOf(n.additionalProperties)}`;
      return 'object';
    default:
      return n.type ?? 'any';
  }
}

/**
 * Markdown table cell text: pipes escaped (also inside code, as tables need); angle brackets outside
 * code shown rather than read as HTML; one line.
 */
function cell(text: string): string {
  return text
    .replaceAll('\n', ' ')
    .split('`')
    .map((part, i) => (i % 2 === 1 ? part : part.replaceAll('<', '&lt;').replaceAll('>', '&gt;')))
    .join('`')
    .replaceAll('|', '\\|');
}

/** A path's description: the schema's own, else the fallback; '' when neither. */
function describe(n: Node, path: string): string {
  return n.description ?? fallbackDescriptions[path] ?? '';
}

interface Row {
  field: string;
  type: string;
  default: string;
  description: string;
}

interface Field {
  key: string;
  node: Node;
  required: boolean;
}

interface Walk {
  rows: Map<string, Row[]>;
  /** The node each table documents, for its introduction. */
  roots: Map<string, Node>;
  /** Where each shape that has a table of its own was first documented. */
  shapes: Map<string, string>;
  /** Every field path, and whether the schema describes it itself (for the fallback check). */
  described: Map<string, boolean>;
}

const under = (base: string, key: string) => (base ? `${base}.${key}` : key);
const relative = (table: string, path: string) => (table ? path.slice(table.length + 1) : path);

/** The fields of an object, or of all the alternatives of a union of objects. */
function fieldsOf(node: Node): Field[] {
  const alternatives = variants(node);
  if (!alternatives) {
    return Object.entries(node.properties ?? {}).map(([key, child]) => ({
      key,
      node: child,
      required: (node.required ?? []).includes(key),
    }));
  }
  return alternatives.flatMap((v) => {
    const keys = Object.keys(v.properties ?? {});
    // In a one-key alternative the key is what chooses it: not a required field.
    return keys.map((key) => ({
      key,
      node: v.properties?.[key] as Node,
      required: keys.length > 1 && (v.required ?? []).includes(key),
    }));
  });
}

function addRow(w: Walk, table: string, row: Row): void {
  const rows = w.rows.get(table) ?? [];
  rows.push(row);
  w.rows.set(table, rows);
}

/** Documents every field of `node` (at `path`) in the table at `table`. */
function walkFields(w: Walk, table: string, path: string, node: Node): void {
  for (const f of fieldsOf(node)) addField(w, table, under(path, f.key), f.node, f.required);
}

function addField(w: Walk, table: string, path: string, node: Node, required: boolean): void {
  w.described.set(path, node.description !== undefined);
  // A list of objects documents its items' fields as `list[].field`.
  const items = node.type === 'array' ? node.items : undefined;
  const item = items && (isObject(items) || variants(items)) ? items : undefined;
  const target = item ?? node;
  const targetPath = item ? `${path}[]` : path;
  const nested = (isObject(target) && !isOpen(target)) || variants(target) !== null;
  const shape = nested ? shapeOf(target) : '';
  const seenAt = nested ? w.shapes.get(shape) : undefined;
  const ownTable = nested && tablePaths.has(targetPath);
  let type =
    path === providerField
      ? `object with one of: ${Object.keys(providerSchemas).map(code).join(', ')} (tables below)`
      : typeOf(node);
  if (seenAt !== undefined) type += `, as ${code(seenAt)}`;
  else if (ownTable) type += ', below';
  addRow(w, table, {
    field: relative(table, path),
    type: required ? `${type}, required` : type,
    default:
      node.default === undefined
        ? ''
        : code(typeof node.default === 'string' ? node.default : JSON.stringify(node.default)),
    description: describe(node, path),
  });
  if (!nested || seenAt !== undefined) return;
  const into = ownTable ? targetPath : table;
  if (ownTable) {
    w.shapes.set(shape, targetPath);
    w.roots.set(targetPath, target);
  }
  if (item && variants(item)) {
    // The items of a list of alternatives (canary steps): one row saying which keys there are.
    w.described.set(targetPath, item.description !== undefined);
    addRow(w, into, {
      field: relative(into, targetPath) || targetPath,
      type: typeOf(item),
      default: '',
      description: describe(item, targetPath),
    });
  }
  walkFields(w, into, targetPath, target);
}

/** The JSON Schema of a ReleaseTarget, and each metric provider's own (its `provider:` is open). */
function schemas(): { target: Node; providers: Record<string, Node> } {
  const target = JSON.parse(releaseTargetJsonSchema()) as Node;
  const providers = Object.fromEntries(
    Object.entries(providerSchemas).map(([kind, schema]) => {
      const { $schema: _drop, ...node } = z.toJSONSchema(schema, { io: 'input' }) as Node & {
        $schema?: string;
      };
      return [kind, node as Node];
    }),
  );
  return { target, providers };
}

function walkAll(): Walk {
  const { target, providers } = schemas();
  const w: Walk = {
    rows: new Map(),
    roots: new Map([['', target]]),
    shapes: new Map(),
    described: new Map(),
  };
  walkFields(w, '', '', target);
  for (const [kind, node] of Object.entries(providers)) {
    const path = `provider.${kind}`;
    w.described.set(path, node.description !== undefined);
    w.roots.set(path, node);
    walkFields(w, path, path, node);
  }
  return w;
}

/** Every field path of the reference, and whether the schema itself describes it. */
export function referencePaths(): Map<string, boolean> {
  return walkAll().described;
}

/** The ReleaseTarget reference: one table per object, with field, type, default and description. */
export function releaseTargetReference(): string {
  const w = walkAll();
  const out: string[] = [
    'Generated from the zod schemas (`shared/target/`, `shared/analysis/`) by `npm run docs`; a test',
    'fails when it is out of date. Durations are seconds, or where the type says a string, a duration in',
    "Go's syntax as Argo Rollouts takes it (`30s`, `5m`, `1h30m`, `250ms`; `shared/duration.ts`). A field",
    'marked required must be there; the others may be left out.',
  ];
  for (const t of tables) {
    const rows = w.rows.get(t.path) ?? [];
    if (rows.length === 0) continue;
    out.push('', `#### ${t.title}`, '');
    const root = w.roots.get(t.path);
    const intro = t.intro ?? (root ? describe(root, t.path) : '');
    if (t.path.startsWith('provider.')) {
      out.push(
        `${intro} Written under a metric as \`provider: {${t.path.slice('provider.'.length)}: {…}}\`.`,
        '',
      );
    } else if (intro) {
      out.push(intro, '');
    }
    out.push('| field | type | default | description |', '| --- | --- | --- | --- |');
    for (const r of rows) {
      out.push(`| ${code(r.field)} | ${cell(r.type)} | ${cell(r.default)} | ${cell(r.description)} |`);
    }
  }
  return out.join('\n');
}

/** A one-line description as a sentence: capitalised, with a final full stop. */
function sentence(text: string): string {
  const t = text.trim();
  return `${t.charAt(0).toUpperCase()}${t.slice(1)}${/[.!?]$/.test(t) ? '' : '.'}`;
}

/** The CLI reference: global options, exit codes, then each command with options and examples. */
export function cliReference(): string {
  const program = buildProgram();
  const generic = new Map(exitCodeDocs.map((e) => [e.code, e.meaning]));
  const out: string[] = [
    'Generated from the CLI itself (`cli/program.ts`, `cli/help.ts`) by `npm run docs`;',
    '`switchyard <command> --help` prints the same. The examples name a target `api`.',
    '',
    'Global options:',
    '',
    '| option | description |',
    '| --- | --- |',
    ...globalOptionDocs(program).map((o) => `| ${code(o.flags)} | ${cell(o.description)} |`),
    '',
    'Exit codes, with the same meaning for every command:',
    '',
    '| code | meaning |',
    '| --- | --- |',
    ...exitCodeDocs.map((e) => `| ${e.code} | ${cell(e.meaning)} |`),
  ];
  for (const doc of commandDocs(program)) {
    out.push(
      '',
      `#### ${code(`switchyard ${doc.name}`)}`,
      '',
      cell(sentence(doc.summary)),
      '',
      `Usage: ${code(doc.usage)}`,
    );
    if (doc.options.length > 0) {
      out.push('', '| option | default | description |', '| --- | --- | --- |');
      for (const o of doc.options) {
        out.push(
          `| ${code(o.flags)} | ${o.default === null ? '' : code(o.default)} | ${cell(o.description)} |`,
        );
      }
    }
    if (doc.examples.length > 0) {
      out.push('', 'Examples:', '');
      for (const e of doc.examples) out.push(`- ${code(e.command)}: ${cell(e.description)}`);
    }
    if (doc.exitCodes.length > 0) {
      // Codes that mean what the table above says are listed by number; the others say what they mean here.
      const plain = doc.exitCodes.filter((e) => generic.get(e.code) === e.meaning).map((e) => String(e.code));
      const own = doc.exitCodes.filter((e) => generic.get(e.code) !== e.meaning);
      const parts = [
        ...(plain.length > 0 ? [`${plain.join(', ')} as above`] : []),
        ...own.map((e) => `${e.code} ${cell(e.meaning)}`),
      ];
      out.push('', `Exit codes: ${parts.join('; ')}.`);
    }
  }
  return out.join('\n');
}

/**
 * Why each IAM grant of the Terraform module exists, by the address of the resource that makes it
 * (with `["KEY"]` where a resource's instances grant different roles). The IAM table fails to
 * generate, and docs.test.ts fails, when a grant has no entry here or an entry names no grant: a new
 * grant cannot go undocumented, and a removed one leaves no stale reason behind.
 */
export const iamWhy: Record<string, string> = {
  'google_project_iam_member.firestore':
    "Every function reads and writes releases in its transactions; the condition limits it to Switchyard's database.",
  'google_pubsub_topic_iam_member.publisher':
    'The hand-over to whichever step comes next (any step may follow any other) and a release event for every transition; `notify` publishes nothing.',
  'google_project_iam_member.cluster_viewer':
    "Reads a target cluster's endpoint and CA through the Container API (`shared/kubernetes/connect.ts`), then authenticates as itself; what it may do inside is the Role below.",
  'google_project_iam_member.monitoring_viewer':
    'Analysis measurements from Cloud Monitoring and Managed Prometheus: they are taken only in PrePromotionAnalysis, AwaitingPromotion, PostPromotionAnalysis and Progressing, the phases `analyze` works.',
  'google_secret_manager_secret_iam_member.notifier':
    'Notifier secrets (webhook and Slack URLs), mounted in `notify` at `/etc/secrets/<id>/<id>`.',
  'google_cloud_run_service_iam_member.invoker':
    "The identity of Pub/Sub's pushes (their OIDC token): it may invoke the functions and nothing else.",
  'google_service_account_iam_member.pubsub_token_creator':
    "Signs the pushes' OIDC tokens as the invoker account.",
  'google_pubsub_topic_iam_member.dead_letter_publisher':
    "Dead-lettering: forwards a message that failed every delivery to its function's dead-letter topic.",
  'google_pubsub_subscription_iam_member.dead_letter_subscriber':
    'Dead-lettering: acknowledges the forwarded message on the push subscription it came from.',
  'google_project_iam_member.build["logs"]': "Writes the logs of the functions' builds.",
  'google_project_iam_member.build["sources"]':
    'Reads the sources Cloud Functions stages for a build; the condition limits it to the function-source buckets.',
  'google_artifact_registry_repository_iam_member.registry_reader':
    'Confirms that a pushed digest is in the registry and that its tag points at it (`HEAD /v2/<name>/manifests/…`) before a release starts, on the repositories of `image_repositories` only.',
  'google_artifact_registry_repository_iam_member.build':
    "Pushes the functions' images, to their repository only.",
  'google_pubsub_topic_iam_member.operator_control':
    "The `switchyard` CLI's control commands (promote, abort, undo, …), each carrying the caller's ID token.",
  'google_project_iam_member.operator_firestore':
    "What the `switchyard` CLI does in Switchyard's database (targets, releases, history); the condition limits it to that database.",
};

/** Grant addresses without a reason in `why`, and reasons that name no grant. */
export function iamWhyProblems(
  grantList: readonly Grant[],
  why: Record<string, string> = iamWhy,
): { undocumented: string[]; stale: string[] } {
  const addresses = new Set(grantList.map((g) => g.address));
  return {
    undocumented: [...addresses].filter((a) => !(a in why)),
    stale: Object.keys(why).filter((a) => !addresses.has(a)),
  };
}

/** Functions as the tables name them: every function, or the 5 steps and the others by name. */
function functionsLabel(names: string[]): string {
  const set = new Set(names);
  if (functionNames.every((f) => set.has(f)) && set.size === functionNames.length) return 'every function';
  const steps = stepNames.every((s) => set.has(s));
  const rest = functionNames.filter(
    (f) => set.has(f) && !(steps && (stepNames as readonly string[]).includes(f)),
  );
  return [...(steps ? [`the ${stepNames.length} steps`] : []), ...rest.map(code)].join(', ');
}

/** Where a set of grants applies: `topics a, b`, `each project of …`, with the condition if any. */
function grantedOn(list: readonly Grant[]): string {
  const parts: string[] = [];
  const kinds = [...new Set(list.map((g) => g.on.kind))];
  for (const kind of kinds) {
    const of = list.filter((g) => g.on.kind === kind);
    for (const g of of.filter((g) => g.on.each)) parts.push(`each ${kind} of ${g.on.name}`);
    const named = [...new Set(of.filter((g) => !g.on.each).map((g) => g.on.name))];
    if (named.length > 0) parts.push(`${kind}${named.length > 1 ? 's' : ''} ${named.join(', ')}`);
  }
  const conditions = [...new Set(list.map((g) => (g.condition ? JSON.stringify(g.condition) : '')))];
  if (conditions.length > 1)
    throw new Error(`${list[0]?.address}: grants with different conditions in one row`);
  const condition = list[0]?.condition;
  const text = parts.join('; ');
  return condition ? `${text}, if ${code(condition.expression)} (condition ${code(condition.title)})` : text;
}

/** Identities in table order: the functions, the module's service accounts, the Pub/Sub agent, variables. */
const identityRank = (identity: string) =>
  ['function', 'account', 'pubsub-agent', 'var'].indexOf(identity.split(':')[0]!);

/**
 * The IAM table: one row per grant resource and group of identities granted the same things, with
 * the role, what it is granted on, and why (from `why`, which must document every grant).
 */
export function iamTable(
  m: Module,
  grantList: readonly Grant[],
  why: Record<string, string> = iamWhy,
): string {
  const { undocumented, stale } = iamWhyProblems(grantList, why);
  if (undocumented.length > 0) {
    throw new Error(`IAM grants without a reason in scripts/docs.ts iamWhy: ${undocumented.join(', ')}`);
  }
  if (stale.length > 0)
    throw new Error(`iamWhy in scripts/docs.ts names grants that do not exist: ${stale.join(', ')}`);
  interface TableRow {
    rank: number;
    address: string;
    identity: string;
    role: string;
    on: string;
    why: string;
  }
  const rows: TableRow[] = [];
  for (const address of [...new Set(grantList.map((g) => g.address))]) {
    const ofAddress = grantList.filter((g) => g.address === address);
    for (const role of [...new Set(ofAddress.map((g) => g.role))]) {
      const ofRole = ofAddress.filter((g) => g.role === role);
      // Identities granted exactly the same things share a row.
      const byOn = new Map<string, { identities: string[]; list: Grant[] }>();
      for (const identity of [...new Set(ofRole.map((g) => g.identity))]) {
        const list = ofRole.filter((g) => g.identity === identity);
        const on = grantedOn(list);
        const row = byOn.get(on) ?? { identities: [], list };
        row.identities.push(identity);
        byOn.set(on, row);
      }
      for (const [on, { identities }] of byOn) {
        const fns = identities
          .filter((i) => i.startsWith('function:'))
          .map((i) => i.slice('function:'.length));
        const others = identities.filter((i) => !i.startsWith('function:'));
        const identity = [
          ...(fns.length > 0 ? [functionsLabel(fns)] : []),
          ...others.map((i) => identityLabel(m, i)),
        ].join(', ');
        rows.push({ rank: identityRank(identities[0]!), address, identity, role, on, why: why[address]! });
      }
    }
  }
  // By identity, then in the order of `why`.
  const order = Object.keys(why);
  rows.sort((a, b) => a.rank - b.rank || order.indexOf(a.address) - order.indexOf(b.address));
  return [
    '| identity | role | on | why |',
    '| --- | --- | --- | --- |',
    ...rows.map((r) => `| ${cell(r.identity)} | ${code(r.role)} | ${cell(r.on)} | ${cell(r.why)} |`),
  ].join('\n');
}

/** DEPLOY.md's IAM table, from the switchyard module's *_iam_member resources. */
export async function iamReference(): Promise<string> {
  const { sy } = await loadModules();
  return [
    'Generated from the IAM resources of `infra/terraform/modules/switchyard` (read by',
    '`infra/terraform/model.ts`) by `npm run docs`; a test fails when it is out of date. `<prefix>`,',
    "`<project_id>` and the other `<names>` are the module's variables.",
    '',
    iamTable(sy, grants(sy)),
  ].join('\n');
}

/** DEPLOY.md's Kubernetes table: the rules of Switchyard's Role (shared/rbac.ts). */
export function rbacReference(): string {
  return [
    '| objects | verbs | used for |',
    '| --- | --- | --- |',
    ...switchyardRules.map((r) => {
      const objects = r.resources
        .map((res) => r.apiGroups.map((g) => (g === '' ? res : `${code(g)} ${res}`)).join(', '))
        .join(', ');
      return `| ${cell(objects)} | ${r.verbs.join(', ')} | ${cell(r.why)} |`;
    }),
  ].join('\n');
}

const marker = (name: string, edge: 'start' | 'end') => `<!-- reference:${name}:${edge} -->`;

/** A document with every generated section replaced by what the sources generate now. */
export async function render(
  document: string,
  generators: Generators = sections,
  name = 'README.md',
): Promise<string> {
  let text = document;
  for (const [section, generate] of Object.entries(generators)) {
    const start = marker(section, 'start');
    const end = marker(section, 'end');
    const a = text.indexOf(start);
    const b = text.indexOf(end);
    if (a < 0 || b < a) throw new Error(`${name} has no ${start} … ${end} section`);
    text = `${text.slice(0, a + start.length)}\n${await generate()}\n${text.slice(b)}`;
  }
  return text;
}

/** The text between a section's markers (without the newlines next to them). */
export function section(document: string, name: string): string {
  const a = document.indexOf(marker(name, 'start'));
  const b = document.indexOf(marker(name, 'end'));
  if (a < 0 || b < a) throw new Error(`no ${marker(name, 'start')} section`);
  return document
    .slice(a + marker(name, 'start').length, b)
    .replace(/^\n/, '')
    .replace(/\n$/, '');
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  for (const doc of documents) {
    const current = readFileSync(doc.file, 'utf8');
    const next = await render(current, doc.sections, doc.name);
    if (process.argv.includes('--check')) {
      if (next !== current) {
        process.stderr.write(`${doc.name}: the generated reference is out of date: run npm run docs\n`);
        process.exitCode = 1;
      }
    } else if (next !== current) {
      writeFileSync(doc.file, next);
      process.stdout.write(`${doc.name}: reference sections regenerated\n`);
    } else {
      process.stdout.write(`${doc.name}: reference sections are up to date\n`);
    }
  }
}
