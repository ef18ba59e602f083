// The ReleaseTarget document (SPEC §3, §5): which image repository drives which workload, and how.
// These zod schemas are the single source of truth: the TypeScript types are inferred from them and
// the editors' JSON Schema (schema/release-target.schema.json) is generated from them.
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
import { dns1123Label, labelKey, labelValue, serviceName, targetName } from './names.ts';
import { maxTagFilterLength, tagFilterProblem, versionGroupProblem } from './tag-filter.ts';

export const apiVersion = 'switchyard.dev/v1alpha1';
export const kind = 'ReleaseTarget';
/** The kind of a named analysis template document (SPEC §7), applied like a target. */
export const analysisTemplateKind = 'AnalysisTemplate';
/** Every kind a Switchyard file may hold. */
export const documentKinds = [kind, analysisTemplateKind] as const;

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
    versionGroup: z
      .union([
        z.int().min(1, 'must be a capture group number, 1 or more'),
        z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/, 'must be the name of a capture group'),
      ])
      .optional()
      .describe(
        'The capture group of tagFilter (a number, or a name written (?P<name>…) in the filter) whose ' +
          'text is the version of a tag in a release train: with tagFilter ^api-(\\d+\\.\\d+)$ and ' +
          'versionGroup 1, tag api-1.4 is version 1.4. Default: the whole tag is the version.',
      ),
  })
  .superRefine((image, ctx) => {
    if (image.versionGroup === undefined) return;
    const problem =
      image.tagFilter === undefined
        ? 'needs a tagFilter with a capture group: add spec.image.tagFilter, or leave versionGroup out to use the whole tag'
        : versionGroupProblem(image.tagFilter, image.versionGroup);
    if (problem) ctx.addIssue({ code: 'custom', path: ['versionGroup'], message: problem });
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

const drainSchema = analysisRefSchema
  .extend({
    maxWaitSeconds: z
      .int('must be a whole number of seconds')
      .min(1, 'must be >= 1')
      .max(3600, 'must be at most 3600 (an hour)')
      .default(300)
      .describe(
        'Longest hold of the old revision: after it, the old revision is scaled down whatever the metrics say (recorded as not drained). Default 300.',
      ),
  })
  .describe(
    "Long-lived connections (gRPC, WebSockets) keep using the old revision after its Service switched. With drain, the old revision is held after the switch until every metric of these templates is Successful once ({{release.blueRevision}} names it; e.g. its request or connection rate below a threshold), measured every metric's interval, instead of waiting scaleDownDelaySeconds; count and failure limits do not apply. Every measurement is recorded in the release (analysis.drain).",
  );

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
    dependsOn: z
      .array(targetName)
      .max(20, 'must name at most 20 targets')
      .refine((names) => new Set(names).size === names.length, 'must not name a target twice')
      .optional()
      .describe(
        "Release trains: the targets this one depends on. A release waits (AwaitingDependencies, its candidate up) until each one's release of the same version (its tag, or spec.image.versionGroup of it) has switched and passed post-promotion analysis, then runs its own checks and switches; one that ends without switching aborts it. apply refuses an unknown target and a cycle.",
      ),
    dependsOnWaitSeconds: z
      .int('must be a whole number of seconds')
      .min(0, 'must be >= 0')
      .max(86_400, 'must be at most 86400 (a day)')
      .optional()
      .describe(
        'How long a release waits for a dependency to get a release of the same tag; after that the dependency counts as unchanged in this version. Default 300: about what one pipeline needs to push the next service of a version.',
      ),
    rollbackTrain: z
      .boolean()
      .optional()
      .describe(
        'Release trains: when a release of this target rolls back after its dependencies switched, they go back too, in reverse order, by a traffic switch to their old revisions, which they keep warm until this release has ended. Default false: only this release goes back.',
      ),
    drain: drainSchema.optional(),
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

/** The schema of either document kind (problems.ts looks up the keys allowed at a path in it). */
export type DocumentSchema = typeof releaseTargetSchema | typeof analysisTemplateDocumentSchema;

/** The template a named template document defines: its spec, named by metadata.name. */
export function templateOf(document: AnalysisTemplateDocument): AnalysisTemplate {
  return { name: document.metadata.name, ...document.spec };
}
