// The ReleaseTarget document (SPEC §3, §5): which image repository drives which workload, and how.
// These zod schemas are the single source of truth: the TypeScript types are inferred from them and
// the editors' JSON Schema (schema/release-target.schema.json) is generated from them.
import { isAlias, isMap, isPair, isScalar, isSeq, LineCounter, type Node, parseAllDocuments } from 'yaml';
import { z } from 'zod';
import {
  type AnalysisTemplate,
  analysisRefSchema,
  analysisSchema,
  analysisTemplateSchema,
} from '../analysis/schema.ts';
import { accessSchema } from '../identity/access.ts';
import { notificationsSchema } from '../notify/schema.ts';
import { canarySchema } from './canary.ts';
import { dns1123Label, targetName } from './names.ts';
import { maxTagFilterLength, tagFilterProblem } from './tag-filter.ts';

export const apiVersion = 'switchyard.dev/v1alpha1';
export const kind = 'ReleaseTarget';
/** The kind of a named analysis template document (SPEC §7), applied like a target. */
export const analysisTemplateKind = 'AnalysisTemplate';
/** Every kind a Switchyard file may hold. */
export const documentKinds = [kind, analysisTemplateKind] as const;

// Kubernetes name rules. Namespaces and most object names are DNS-1123 labels (names.ts); Service
// names are the stricter DNS-1035 label (must start with a letter), which the API server enforces on create.
const serviceName = z
  .string()
  .max(63, 'must be at most 63 characters')
  .regex(
    /^[a-z]([-a-z0-9]*[a-z0-9])?$/,
    'must be a Service name (DNS-1035 label): lower-case letters, digits and "-", starting with a letter',
  );

const labelKey = z
  .string()
  .regex(
    /^([a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*\/)?[A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?$/,
    'must be a Kubernetes label key: an optional DNS prefix and "/", then a name of at most 63 characters',
  );
const labelValue = z
  .string()
  .regex(
    /^([A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?)?$/,
    'must be a Kubernetes label value: at most 63 letters, digits, "-", "_" or ".", starting and ending with a letter or digit',
  );

/** A duration: Switchyard writes durations as whole seconds, never as "30s" strings. */
const seconds = () => z.int('must be a whole number of seconds').min(0, 'must be >= 0');

// A registry host (a dot or a port makes it a host, as in Docker's reference grammar; "localhost"
// too) followed by one or more lower-case path components. No tag, no digest.
const repositoryPattern =
  /^(localhost|[a-z0-9]([a-z0-9-]*[a-z0-9])?(\.[a-z0-9]([a-z0-9-]*[a-z0-9])?)+)(:[0-9]+)?(\/[a-z0-9]+((\.|_|__|-+)[a-z0-9]+)*)+$/;

function repositoryMessage(input: unknown): string {
  if (typeof input !== 'string') return 'must be a string';
  if (input.includes('@'))
    return 'must not include a digest (@sha256:…): name the repository only, e.g. us-docker.pkg.dev/acme/apps/api';
  const last = input.split('/').pop() ?? '';
  if (input.includes('/') && last.includes(':'))
    return 'must not include a tag: name the repository only, and select tags with spec.image.tagFilter';
  return 'must be <registry host>/<path> in lower case, e.g. us-docker.pkg.dev/acme/apps/api';
}

const imageSchema = z
  .strictObject({
    repository: z
      .string({ error: 'must be a string' })
      .regex(repositoryPattern, { error: (issue) => repositoryMessage(issue.input) })
      .describe('Image repository without tag or digest, e.g. us-docker.pkg.dev/acme/apps/api.'),
    tagFilter: z
      .string()
      .min(1, 'must not be empty: leave tagFilter out to accept every tag')
      .max(maxTagFilterLength, `must be at most ${maxTagFilterLength} characters`)
      .superRefine((value, ctx) => {
        if (value.length > maxTagFilterLength) return; // said by max() above
        const problem = tagFilterProblem(value);
        if (problem) ctx.addIssue({ code: 'custom', message: problem });
      })
      .optional()
      .describe(
        'RE2 regular expression a tag must match (not anchored: write ^…$ to match the whole tag), ' +
          `matched in linear time; RE2 has no lookarounds or backreferences. ` +
          'Default: every tag.',
      ),
    untagged: z
      .enum(['ignore', 'release'])
      .default('ignore')
      .describe('What a push without a tag does: ignore (default) or release.'),
  })
  .describe('The Artifact Registry repository whose pushes release this target.');

// GKE cluster resource name. Project: an id (6–30 chars, optionally domain-scoped "example.com:id")
// or a project number; location: a region (us-central1) or a zone (us-central1-a); cluster name:
// at most 40 characters, as GKE allows.
const gkeClusterPattern =
  /^projects\/([a-z][a-z0-9.-]*:)?([a-z][a-z0-9-]{4,28}[a-z0-9]|[0-9]+)\/locations\/[a-z]+-[a-z]+[0-9]+(-[a-z])?\/clusters\/[a-z]([-a-z0-9]{0,38}[a-z0-9])?$/;

const clusterSchema = z
  .union(
    [
      z.strictObject({
        gke: z
          .string()
          .regex(
            gkeClusterPattern,
            'must be a GKE cluster name projects/PROJECT/locations/LOCATION/clusters/CLUSTER, e.g. projects/acme-prod/locations/europe-west1/clusters/main',
          )
          .describe('GKE cluster resource name: projects/PROJECT/locations/LOCATION/clusters/CLUSTER.'),
      }),
      z.strictObject({
        context: z
          .string()
          .min(1, 'must not be empty')
          .describe('A context of the kubeconfig Switchyard runs with (local and non-GKE clusters).'),
      }),
    ],
    { error: 'must be either {gke: projects/P/locations/L/clusters/C} or {context: <kubeconfig context>}' },
  )
  .describe('Where the workload runs: a GKE cluster or a kubeconfig context.');

const blueGreenSchema = z
  .strictObject({
    activeService: serviceName.describe(
      'Service that receives production traffic; its selector is switched to the new revision at promotion.',
    ),
    previewService: serviceName
      .optional()
      .describe('Service that selects the new (green) revision before promotion, for tests and analysis.'),
    previewReplicaCount: z
      .int('must be a whole number')
      .min(1, 'must be >= 1')
      .optional()
      .describe(
        'Replicas of the green revision until promotion; it is scaled to full size before the switch. ' +
          'Default: full size from the start.',
      ),
    autoPromotionEnabled: z
      .boolean()
      .default(true)
      .describe(
        'Promote as soon as green is ready (true, default), or pause until a manual promote (false).',
      ),
    autoPromotionSeconds: seconds()
      .optional()
      .describe(
        'With autoPromotionEnabled true: wait this long after green is fully available before promoting ' +
          '(Argo Rollouts semantics). Not allowed with autoPromotionEnabled false, where Argo ignores it.',
      ),
    scaleDownDelaySeconds: seconds()
      .default(30)
      .describe('Keep the old revision running this long after the switch, for a fast undo.'),
    abortScaleDownDelaySeconds: seconds()
      .default(30)
      .describe(
        'After an abort, a failed check or a supersede, keep the green revision this long before it is drained and scaled down (removed, unless aborted).',
      ),
    prePromotionAnalysis: analysisRefSchema
      .optional()
      .describe(
        'Analysis of green before the switch: failure removes green, inconclusive waits for a human.',
      ),
    postPromotionAnalysis: analysisRefSchema
      .optional()
      .describe('Analysis after the switch while blue is warm: failure sends traffic back to blue.'),
  })
  .superRefine(
    (bg, ctx) => {
      if (typeof bg.previewService === 'string' && bg.previewService === bg.activeService) {
        ctx.addIssue({
          code: 'custom',
          path: ['previewService'],
          message: 'must differ from activeService: one Service cannot select blue and green at once',
        });
      }
      // Argo Rollouts silently ignores autoPromotionSeconds when auto-promotion is off; a setting
      // that does nothing is a trap, so it is refused here instead.
      if (bg.autoPromotionEnabled === false && bg.autoPromotionSeconds !== undefined) {
        ctx.addIssue({
          code: 'custom',
          path: ['autoPromotionSeconds'],
          message:
            'has no effect when autoPromotionEnabled is false (the release waits for a manual promote): remove it, or set autoPromotionEnabled: true',
        });
      }
    },
    // Run even when other fields of blueGreen are wrong, so that one pass lists every mistake; the
    // checks above only compare values whose types they test first.
    { when: () => true },
  )
  .describe('Blue-green release: green runs beside blue, then the active Service switches to it.');

const strategySchema = z
  .strictObject({ blueGreen: blueGreenSchema.optional(), canary: canarySchema.optional() })
  .superRefine(
    (s, ctx) => {
      // Runs even when the strategy is missing or malformed (to list every mistake in one pass).
      if (!s || typeof s !== 'object') return;
      const given = [s.blueGreen, s.canary].filter((x) => x !== undefined).length;
      if (given !== 1) {
        ctx.addIssue({ code: 'custom', message: 'must have exactly one of blueGreen or canary' });
      }
    },
    { when: () => true },
  )
  .describe('How a new revision is released: blueGreen or canary.');

const specSchema = z
  .strictObject({
    image: imageSchema,
    cluster: clusterSchema,
    namespace: dns1123Label.describe('Namespace of the workload and its Services.'),
    workload: dns1123Label.describe(
      'App name: revisions are Deployments <workload>-<revision> labelled app.kubernetes.io/name=<workload>.',
    ),
    containers: z
      .array(dns1123Label)
      .min(
        1,
        'must name at least one container: leave containers out to update the ones using the repository',
      )
      .refine((names) => new Set(names).size === names.length, 'must not name a container twice')
      .optional()
      .describe(
        'Containers whose image is replaced. Default: the container(s) whose image is in the repository.',
      ),
    progressDeadlineSeconds: z
      .int('must be a whole number of seconds')
      .min(1, 'must be >= 1')
      .default(600)
      .describe('A revision that is not available within this time fails the release.'),
    revisionHistoryLimit: z
      .int('must be a whole number')
      .min(1, 'must be between 1 and 20')
      .max(20, 'must be between 1 and 20')
      .default(3)
      .describe('Old revisions kept (scaled to zero) for undo.'),
    strategy: strategySchema,
    analysis: analysisSchema.optional(),
    notifications: notificationsSchema.optional(),
    access: accessSchema.optional(),
  })
  .superRefine(
    (spec, ctx) => {
      // Whether each strategy reference names a template is checked apart, by
      // checkTemplateReferences: it may name a template of another document or one stored before.
      // Runs even when other parts are invalid, so every value is checked for its shape first.
      const templates = Array.isArray(spec.analysis?.templates) ? spec.analysis.templates : [];
      const names = templates.map((t) => t?.name);
      names.forEach((n, i) => {
        if (names.indexOf(n) !== i) {
          ctx.addIssue({
            code: 'custom',
            path: ['analysis', 'templates', i, 'name'],
            message: `template name "${n}" is used twice`,
          });
        }
      });
    },
    { when: () => true },
  );

const metadataSchema = z.strictObject({
  name: targetName.describe('Id of the target, unique in the Switchyard installation.'),
  labels: z.record(labelKey, labelValue).optional().describe('Labels to group and select targets.'),
});

/** The ReleaseTarget document as written in YAML (input) and as used by Switchyard (output). */
export const releaseTargetSchema = z
  .strictObject({
    apiVersion: z.literal(apiVersion).describe(`Always ${apiVersion}.`),
    kind: z.literal(kind).describe(`Always ${kind}.`),
    metadata: metadataSchema,
    spec: specSchema.describe('What is released where, and how.'),
  })
  .meta({
    title: 'Switchyard ReleaseTarget',
    description: 'Which image repository drives which GKE workload, and how new images are released.',
  });

/** A validated ReleaseTarget with every default applied. */
export type ReleaseTarget = z.output<typeof releaseTargetSchema>;
/** A ReleaseTarget as a user may write it (defaults not yet applied). */
export type ReleaseTargetInput = z.input<typeof releaseTargetSchema>;
export type ReleaseTargetSpec = ReleaseTarget['spec'];
export type BlueGreenStrategy = ReleaseTargetSpec['strategy']['blueGreen'];

/**
 * A named analysis template (SPEC §7): the same shape as a template under spec.analysis.templates,
 * with its name in metadata. Targets of any later file may reference it by that name.
 */
export const analysisTemplateDocumentSchema = z
  .strictObject({
    apiVersion: z.literal(apiVersion).describe(`Always ${apiVersion}.`),
    kind: z.literal(analysisTemplateKind).describe(`Always ${analysisTemplateKind}.`),
    metadata: z.strictObject({
      name: dns1123Label.describe('Name targets reference it by (templateName), unique in the installation.'),
      labels: z.record(labelKey, labelValue).optional().describe('Labels to group templates.'),
    }),
    spec: analysisTemplateSchema
      .omit({ name: true })
      .describe('args and metrics, exactly as in an inline template (which has its name beside them).'),
  })
  .meta({ title: 'Switchyard AnalysisTemplate' });

/** A named analysis template document as validated (defaults applied). */
export type AnalysisTemplateDocument = z.output<typeof analysisTemplateDocumentSchema>;

/** The template a named template document defines: its spec, named by metadata.name. */
function templateOf(document: AnalysisTemplateDocument): AnalysisTemplate {
  return { name: document.metadata.name, ...document.spec };
}

/** One problem of one document of a file. */
export interface TargetError {
  /** Index of the YAML document in the file (0 for the first, counting `---` separators). */
  document: number;
  /**
   * Where in the document, e.g. `documents[1].spec.strategy.blueGreen.activeService`; empty for a
   * problem of the file as a whole (no document in it).
   */
  path: string;
  message: string;
  /** 1-based line in the file, when the problem can be tied to one. */
  line?: number;
  /** 1-based column, for YAML syntax errors. */
  column?: number;
}

/**
 * Renders a path like `documents[1].spec.containers[0]` or
 * `metadata.labels["app.kubernetes.io/name"]` (without the document head when `document` is null).
 */
export function formatPath(document: number | null, path: readonly PropertyKey[]): string {
  let out = document === null ? '' : `documents[${document}]`;
  for (const seg of path) {
    if (typeof seg === 'number') out += `[${seg}]`;
    else if (typeof seg === 'string' && /^[A-Za-z_][A-Za-z0-9_]*$/.test(seg)) out += out ? `.${seg}` : seg;
    else out += `[${JSON.stringify(String(seg))}]`;
  }
  return out || '(document)';
}

/** The schema of each document kind; "unknown field" messages look up allowed keys in it. */
type DocumentSchema = typeof releaseTargetSchema | typeof analysisTemplateDocumentSchema;

/**
 * Field names the object schema at `path` of `root` allows (for "unknown field" messages), or []
 * if unknown.
 */
function allowedKeys(root: DocumentSchema, path: readonly PropertyKey[]): string[] {
  // Walks zod's schema definitions (`_zod.def`, zod 4's API for tools built on zod): wrappers are
  // unwrapped, objects descend by key, arrays by element, unions collect the keys of every branch.
  type Def = {
    type: string;
    shape?: Record<string, { _zod: { def: Def } }>;
    innerType?: { _zod: { def: Def } };
    element?: { _zod: { def: Def } };
    options?: { _zod: { def: Def } }[];
    in?: { _zod: { def: Def } };
  };
  const unwrap = (def: Def): Def[] => {
    if (def.innerType) return unwrap(def.innerType._zod.def);
    if (def.type === 'pipe' && def.in) return unwrap(def.in._zod.def);
    if (def.type === 'union' && def.options) return def.options.flatMap((o) => unwrap(o._zod.def));
    return [def];
  };
  let defs = unwrap(root._zod.def as unknown as Def);
  for (const seg of path) {
    defs = defs.flatMap((def) => {
      if (def.type === 'object' && typeof seg === 'string' && def.shape?.[seg])
        return unwrap(def.shape[seg]._zod.def);
      if (def.type === 'array' && typeof seg === 'number' && def.element) return unwrap(def.element._zod.def);
      return [];
    });
  }
  return [...new Set(defs.flatMap((def) => (def.type === 'object' ? Object.keys(def.shape ?? {}) : [])))];
}

interface Problem {
  path: PropertyKey[];
  message: string;
  /** Set for "unknown field" problems: the key. */
  unknownKey?: string;
}

function describeValue(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'a list';
  if (typeof value === 'object') return 'a mapping';
  return `${typeof value} ${JSON.stringify(value)}`;
}

/** Turns zod issues into one readable problem per mistake, with the path of the field at fault. */
function problemsOf(
  root: DocumentSchema,
  issues: readonly z.core.$ZodIssue[],
  base: PropertyKey[] = [],
): Problem[] {
  const out: Problem[] = [];
  for (const issue of issues) {
    const path = [...base, ...issue.path];
    switch (issue.code) {
      case 'unrecognized_keys': {
        const allowed = allowedKeys(root, path);
        for (const key of issue.keys) {
          out.push({
            path: [...path, key],
            message: `unknown field "${key}"${allowed.length ? ` (allowed: ${allowed.join(', ')})` : ''}`,
            unknownKey: key,
          });
        }
        break;
      }
      case 'invalid_union': {
        if (issue.input === undefined) {
          out.push({ path, message: 'required' });
          break;
        }
        // Report the branch the user evidently meant (the one with the fewest problems). When no
        // branch stands out, or the best one only objects to a key of another branch (both
        // shapes mixed), the union's own message says which shapes are accepted.
        const branches = issue.errors.map((errs) => problemsOf(root, errs, path));
        const unionKeys = allowedKeys(root, path);
        // A branch that refuses a key another branch is made of was not the one meant: when one
        // branch alone takes every key given, its problems are the ones to report, however many.
        const wrongShape = (b: Problem[]) =>
          b.some(
            (p) =>
              p.unknownKey !== undefined &&
              p.path.length === path.length + 1 &&
              unionKeys.includes(p.unknownKey),
          );
        const shaped = branches.filter((b) => !wrongShape(b));
        if (shaped.length === 1 && shaped[0]) {
          out.push(...shaped[0]);
          break;
        }
        const best = Math.min(...branches.map((b) => b.length));
        const winners = branches.filter((b) => b.length === best);
        const mixed = winners[0] !== undefined && wrongShape(winners[0]);
        if (winners.length === 1 && winners[0] && !mixed) out.push(...winners[0]);
        else out.push({ path, message: issue.message });
        break;
      }
      case 'invalid_key':
        // A record key refused by its own schema (an annotation key, a label key): say why.
        out.push(...problemsOf(root, issue.issues, path));
        break;
      case 'invalid_type':
        if (issue.input === undefined) out.push({ path, message: 'required' });
        else if (issue.expected === 'object')
          out.push({ path, message: `must be a mapping, not ${describeValue(issue.input)}` });
        else if (issue.expected === 'array')
          out.push({ path, message: `must be a list, not ${describeValue(issue.input)}` });
        else if (issue.message.startsWith('must')) out.push({ path, message: issue.message });
        else out.push({ path, message: `must be a ${issue.expected}, not ${describeValue(issue.input)}` });
        break;
      case 'invalid_value':
        out.push({
          path,
          message:
            issue.values.length === 1
              ? `must be ${JSON.stringify(issue.values[0])}`
              : `must be one of: ${issue.values.map((v) => String(v)).join(', ')}`,
        });
        break;
      default:
        out.push({ path, message: issue.message });
    }
  }
  return out;
}

/**
 * Validates one already-parsed document (e.g. read back from Firestore). Returns the target with
 * defaults applied, or every problem with its path: `documents[<document>].spec…`, or just
 * `spec…` when `document` is null (a document that does not come from a file).
 */
export function validateReleaseTarget(
  data: unknown,
  document: number | null = 0,
): { target: ReleaseTarget } | { errors: TargetError[] } {
  const result = check(releaseTargetSchema, data);
  if ('value' in result) return { target: result.value };
  return { errors: errorsOf(result.problems, document) };
}

/**
 * Validates one already-parsed AnalysisTemplate document (e.g. read back from Firestore). Returns
 * its template (name from metadata.name, defaults applied), or every problem with its path, as
 * validateReleaseTarget does.
 */
export function validateAnalysisTemplate(
  data: unknown,
  document: number | null = 0,
): { template: AnalysisTemplate } | { errors: TargetError[] } {
  const result = check(analysisTemplateDocumentSchema, data);
  if ('value' in result) return { template: templateOf(result.value) };
  return { errors: errorsOf(result.problems, document) };
}

function errorsOf(problems: readonly Problem[], document: number | null): TargetError[] {
  return problems.map((p) => ({
    document: document ?? 0,
    path: formatPath(document, p.path),
    message: p.message,
  }));
}

function check<S extends DocumentSchema>(
  schema: S,
  data: unknown,
): { value: z.output<S> } | { problems: Problem[] } {
  const parsed = schema.safeParse(data, { reportInput: true });
  return parsed.success
    ? { value: parsed.data as z.output<S> }
    : { problems: problemsOf(schema, parsed.error.issues) };
}

// ---- YAML files -------------------------------------------------------------------------------

type ParsedDocument = ReturnType<typeof parseAllDocuments>[number];

/**
 * The 1-based line of the node at `path` in a YAML document. When the path ends inside a mapping,
 * the line of the key; when part of the path is missing (a required field), the line of the
 * deepest ancestor that exists, which is where the field belongs.
 */
function lineOf(doc: ParsedDocument, path: readonly PropertyKey[], lines: LineCounter): number | undefined {
  let node: unknown = doc.contents;
  let offset = (doc.contents as Node | null)?.range?.[0] ?? doc.range?.[0] ?? 0;
  for (const seg of path) {
    if (isAlias(node)) node = node.resolve(doc);
    if (isMap(node)) {
      const pair = node.items.find(
        (p) => isPair(p) && isScalar(p.key) && String(p.key.value) === String(seg),
      );
      if (!pair) break;
      offset = (pair.key as Node).range?.[0] ?? offset;
      node = pair.value;
    } else if (isSeq(node) && typeof seg === 'number') {
      const item = node.items[seg] as Node | undefined;
      if (!item) break;
      offset = item.range?.[0] ?? offset;
      node = item;
    } else {
      break;
    }
  }
  return lines.linePos(offset).line;
}

/** A YAML syntax error's first line, without the "at line L, column C" that is reported apart. */
function yamlMessage(message: string): string {
  return (message.split('\n')[0] ?? message).replace(/ at line \d+, column \d+:?$/, '');
}

/** What a valid file holds: its targets and its named analysis templates, each in file order. */
export interface ParsedFile {
  targets: ReleaseTarget[];
  templates: AnalysisTemplate[];
}

/** Where a parsed target came from, to give later checks (checkTemplateReferences) lines too. */
interface Source {
  document: number;
  line: (path: readonly PropertyKey[]) => number | undefined;
}

// Kept apart from the targets, so that a target stays plain data (stored and compared as it is).
const sources = new WeakMap<ReleaseTarget, Source>();

/** A value that can be a YAML mapping's data: anything but null, a list or a scalar. */
function isMapping(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/**
 * Parses a file of ReleaseTarget and AnalysisTemplate documents (separated by `---`), each
 * validated by its `kind`. Returns every target and named template with its defaults applied, or
 * every problem of every document: YAML syntax errors (with line and column), schema errors with
 * their path and line, unknown kinds, and names used twice in the file (targets and templates
 * have a name space each). Empty documents (a trailing `---`, comments only) are skipped but
 * still counted in document indexes. Whether the strategies' analysis references name existing
 * templates is checked apart, by checkTemplateReferences, since a named template may have been
 * applied before. `fileName` only names the file in messages about the file as a whole.
 */
export function parseReleaseTargets(text: string, fileName: string): ParsedFile | { errors: TargetError[] } {
  const lines = new LineCounter();
  const docs = parseAllDocuments(text, { lineCounter: lines, prettyErrors: true, uniqueKeys: true });
  const errors: TargetError[] = [];
  const targets: ReleaseTarget[] = [];
  const templates: AnalysisTemplate[] = [];
  const firstUse = { [kind]: new Map<string, number>(), [analysisTemplateKind]: new Map<string, number>() };
  const at = (offset: number) => lines.linePos(offset);

  if ('empty' in docs) {
    for (const e of docs.errors) {
      const { line, col } = at(e.pos[0]);
      errors.push({ document: 0, path: 'documents[0]', message: yamlMessage(e.message), line, column: col });
    }
  }
  docs.forEach((doc, index) => {
    if (doc.errors.length > 0) {
      // A document that is not valid YAML has no trustworthy content: its schema errors would only
      // be noise, so only the syntax errors are reported for it.
      for (const e of doc.errors) {
        const { line, col } = at(e.pos[0]);
        errors.push({
          document: index,
          path: formatPath(index, []),
          message: yamlMessage(e.message),
          line,
          column: col,
        });
      }
      return;
    }
    // Nothing but comments, or the empty document after a trailing `---`.
    if (doc.contents === null || (isScalar(doc.contents) && doc.contents.value === null)) return;
    const problem = (path: readonly PropertyKey[], message: string) =>
      errors.push({
        document: index,
        path: formatPath(index, path),
        message,
        line: lineOf(doc, path, lines),
      });
    let data: unknown;
    try {
      // Bounded alias expansion: a "billion laughs" document fails here instead of eating memory.
      data = doc.toJS({ maxAliasCount: 100 });
    } catch (err) {
      problem([], err instanceof Error ? err.message : String(err));
      return;
    }
    if (!isMapping(data)) {
      problem([], `must be a mapping, not ${describeValue(data)}`);
      return;
    }
    // The kind says which schema applies; without a known one the other fields cannot be judged.
    const docKind = data.kind;
    if (docKind !== kind && docKind !== analysisTemplateKind) {
      const allowed = documentKinds.join(', ');
      problem(
        ['kind'],
        docKind === undefined
          ? `required: one of ${allowed}`
          : `unknown kind ${JSON.stringify(docKind)}: must be one of ${allowed}`,
      );
      return;
    }
    const name = (data.metadata as { name?: unknown } | null | undefined)?.name;
    if (typeof name === 'string') {
      const first = firstUse[docKind].get(name);
      if (first === undefined) firstUse[docKind].set(name, index);
      else
        problem(
          ['metadata', 'name'],
          docKind === kind
            ? `duplicate target name "${name}": documents[${first}] already uses it; names must be unique`
            : `duplicate analysis template name "${name}": documents[${first}] already uses it; names must be unique`,
        );
    }
    const result =
      docKind === kind ? check(releaseTargetSchema, data) : check(analysisTemplateDocumentSchema, data);
    if ('problems' in result) {
      for (const p of result.problems) problem(p.path, p.message);
      return;
    }
    if (docKind === kind) {
      const target = result.value as ReleaseTarget;
      sources.set(target, { document: index, line: (path) => lineOf(doc, path, lines) });
      targets.push(target);
    } else {
      templates.push(templateOf(result.value as AnalysisTemplateDocument));
    }
  });
  if (errors.length === 0 && targets.length === 0 && templates.length === 0) {
    errors.push({ document: 0, path: '', message: `${fileName} holds no ReleaseTarget document` });
  }
  if (errors.length > 0) {
    errors.sort((a, b) => a.document - b.document || (a.line ?? 0) - (b.line ?? 0));
    return { errors };
  }
  return { targets, templates };
}

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
  ];
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
    const source = sources.get(target);
    const document = source?.document ?? i;
    for (const ref of referencesOf(target)) {
      const name = ref.templateName;
      if (inline.has(name) || inFile.has(name) || known.has(name)) continue;
      errors.push({
        document,
        path: formatPath(document, ref.path),
        message:
          stored === 'checked'
            ? `no analysis template "${name}": it is neither in spec.analysis.templates, nor an AnalysisTemplate of this file, nor stored; define it, or apply it first`
            : `no analysis template "${name}" in spec.analysis.templates (not in this file; apply checks stored templates)`,
        ...(source ? { line: source.line(ref.path) } : {}),
      });
    }
  });
  return errors.sort((a, b) => a.document - b.document || (a.line ?? 0) - (b.line ?? 0));
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
  const errors: TargetError[] = [];
  targets.forEach((target, i) => {
    const { cluster } = target.spec;
    if (!('context' in cluster) || known.has(cluster.context)) return;
    const source = sources.get(target);
    const document = source?.document ?? i;
    const path = ['spec', 'cluster', 'context'];
    errors.push({
      document,
      path: formatPath(document, path),
      message: `no context ${JSON.stringify(cluster.context)} in kubeconfig ${kubeconfig} (contexts: ${listed}): name one of them, or a GKE cluster with gke: projects/P/locations/L/clusters/C`,
      ...(source ? { line: source.line(path) } : {}),
    });
  });
  return errors;
}
