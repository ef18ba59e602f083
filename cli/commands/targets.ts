// `switchyard validate -f`, `apply -f`, `targets` and `templates`: files of ReleaseTargets and named
// AnalysisTemplates, and what is stored of them.
import { readFileSync } from 'node:fs';
import { hostname, userInfo } from 'node:os';
import { Command, Option } from 'commander';
import type { AnalysisTemplate } from '../../shared/analysis/schema.ts';
import {
  checkTemplateReferences,
  parseReleaseTargets,
  type ReleaseTarget,
  type TargetError,
} from '../../shared/target/schema.ts';
import type { ApplyOutcome, StoredTarget, TargetStore } from '../../shared/target/store.ts';
import { explainFailure, withBackend } from '../backend.ts';
import { exitCodes } from '../exit-codes.ts';
import { type OutputFormat, outputOption, print, table } from '../output.ts';

const fileOption = () =>
  new Option(
    '-f, --filename <file>',
    'YAML file of ReleaseTarget and AnalysisTemplate documents, separated by ---; - reads stdin',
  ).makeOptionMandatory();

type FileResult =
  | { ok: true; file: string; targets: ReleaseTarget[]; templates: AnalysisTemplate[] }
  | { ok: false; file: string; errors: TargetError[] };

/** Reads and validates a file; an unreadable file is one error of the input, like a syntax error. */
function readTargets(file: string): FileResult {
  let text: string;
  try {
    text = readFileSync(file === '-' ? 0 : file, 'utf8');
  } catch (err) {
    const reason = (err as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : (err as Error).message;
    return {
      ok: false,
      file,
      errors: [{ document: 0, path: '', message: `cannot read ${file}: ${reason}` }],
    };
  }
  const name = file === '-' ? 'stdin' : file;
  const parsed = parseReleaseTargets(text, name);
  return 'errors' in parsed
    ? { ok: false, file: name, errors: parsed.errors }
    : { ok: true, file: name, targets: parsed.targets, templates: parsed.templates };
}

/** `file:line path: message`, the shape editors and CI logs turn into links. */
function errorLine(file: string, e: TargetError): string {
  const where =
    e.line === undefined ? file : `${file}:${e.line}${e.column === undefined ? '' : `:${e.column}`}`;
  if (e.path) return `${where} ${e.path}: ${e.message}`;
  // A problem of the whole file whose message already names it.
  return e.message.includes(file) ? e.message : `${where}: ${e.message}`;
}

/** Prints the errors of an invalid file in the chosen format and sets exit code 2. */
function reportInvalid(format: OutputFormat, result: Extract<FileResult, { ok: false }>, verb: string): void {
  const data = { file: result.file, valid: false, errors: result.errors };
  if (format === 'text') {
    for (const e of result.errors) process.stderr.write(`${errorLine(result.file, e)}\n`);
    const n = result.errors.length;
    process.stderr.write(`${result.file}: ${n} error${n === 1 ? '' : 's'}${verb}\n`);
  } else {
    print(format, data, () => '');
  }
  process.exitCode = exitCodes.invalidInput;
}

/** Who applies: the local user at this machine, recorded with each stored target. */
function actor(): string {
  try {
    return `${userInfo().username}@${hostname()}`;
  } catch {
    return `unknown@${hostname()}`;
  }
}

/** Runs `work` with a TargetStore on the configured Firestore, and closes the client after. */
async function withStore<T>(work: (store: TargetStore) => Promise<T>): Promise<T> {
  try {
    return await withBackend((b) => work(b.targets));
  } catch (err) {
    throw explainFailure(err);
  }
}

function plural(n: number, word: string): string {
  return `${n} ${word}${n === 1 ? '' : 's'}`;
}

/** True when the environment names a Firestore (a project or the emulator) validate may read. */
function storeConfigured(): boolean {
  return Boolean(
    process.env.GOOGLE_CLOUD_PROJECT || process.env.GCLOUD_PROJECT || process.env.FIRESTORE_EMULATOR_HOST,
  );
}

/**
 * The problems of a valid file's analysis references, for validate: references the file resolves
 * itself need no Firestore; for the others the stored templates are read when a Firestore is
 * configured. Without one, or when it cannot be read, stored templates count as unknown and the
 * messages say that apply checks them (validate must work offline, e.g. in CI without access).
 */
async function unresolvedForValidate(result: Extract<FileResult, { ok: true }>): Promise<TargetError[]> {
  const local = checkTemplateReferences(result.targets, result.templates, new Set(), 'unchecked');
  if (local.length === 0 || !storeConfigured()) return local;
  let known: string[];
  try {
    known = await withStore((store) => store.templateNames());
  } catch (err) {
    process.stderr.write(
      `switchyard validate: stored analysis templates not checked: ${err instanceof Error ? err.message : String(err)}\n`,
    );
    return local;
  }
  return checkTemplateReferences(result.targets, result.templates, new Set(known));
}

/** What a file holds, in words: "2 targets", "1 target, 1 analysis template". */
function contents(targets: number, templates: number): string {
  return templates === 0
    ? plural(targets, 'target')
    : `${plural(targets, 'target')}, ${plural(templates, 'analysis template')}`;
}

/** `switchyard validate -f <file>`: checks a file without storing anything. */
export function validateCommand(): Command {
  return new Command('validate')
    .description('check a ReleaseTarget file and list every error with its line and path; stores nothing')
    .addOption(fileOption())
    .addOption(outputOption())
    .action(async (opts: { filename: string; output: OutputFormat }) => {
      const result = readTargets(opts.filename);
      if (!result.ok) return reportInvalid(opts.output, result, '');
      const unresolved = await unresolvedForValidate(result);
      if (unresolved.length > 0)
        return reportInvalid(opts.output, { ...result, ok: false, errors: unresolved }, '');
      print(
        opts.output,
        { file: result.file, valid: true, targets: result.targets, templates: result.templates },
        (d) => `${d.file}: ${contents(d.targets.length, d.templates.length)} valid`,
      );
    });
}

/** One line of apply's output: what happened to one document of the file. */
interface AppliedRow extends ApplyOutcome {
  kind: 'AnalysisTemplate' | 'ReleaseTarget';
}

/**
 * `switchyard apply -f <file>`: validates, checks that every analysis reference names a template
 * (inline, in the file, or stored), then stores every target and template of the file or none.
 */
export function applyCommand(): Command {
  return new Command('apply')
    .description(
      'store the ReleaseTargets and AnalysisTemplates of a file: all of them or, on any error, none; prints created, configured or unchanged for each',
    )
    .addOption(fileOption())
    .addOption(outputOption())
    .action(async (opts: { filename: string; output: OutputFormat }) => {
      const result = readTargets(opts.filename);
      if (!result.ok) return reportInvalid(opts.output, result, '; nothing was applied');
      type Outcome = { errors: TargetError[] } | { applied: Awaited<ReturnType<TargetStore['apply']>> };
      const outcome = await withStore(async (store): Promise<Outcome> => {
        // Stored template names are read only when the file does not resolve every reference itself.
        const local = checkTemplateReferences(result.targets, result.templates, new Set());
        const known = local.length === 0 ? [] : await store.templateNames();
        const unresolved = checkTemplateReferences(result.targets, result.templates, new Set(known));
        if (unresolved.length > 0) return { errors: unresolved };
        return { applied: await store.apply(result.targets, actor(), result.templates) };
      });
      if ('errors' in outcome)
        return reportInvalid(
          opts.output,
          { ...result, ok: false, errors: outcome.errors },
          '; nothing was applied',
        );
      // Templates first: they are what the targets after them refer to.
      const rows: AppliedRow[] = [
        ...outcome.applied.templates.map((r) => ({ kind: 'AnalysisTemplate' as const, ...r })),
        ...outcome.applied.targets.map((r) => ({ kind: 'ReleaseTarget' as const, ...r })),
      ];
      print(opts.output, rows, (all) =>
        all
          .map((r) => `${r.kind.toLowerCase()}/${r.name} ${r.result} (generation ${r.generation})`)
          .join('\n'),
      );
    });
}

function strategyOf(target: ReleaseTarget): string {
  const { blueGreen, canary } = target.spec.strategy;
  if (canary)
    return `canary (${canary.steps.length} steps${canary.trafficRouting ? `, ${Object.keys(canary.trafficRouting)[0]}` : ', replica ratio'})`;
  return blueGreen?.autoPromotionEnabled ? 'blueGreen' : 'blueGreen (manual promotion)';
}

function clusterOf(target: ReleaseTarget): string {
  const { cluster } = target.spec;
  return 'gke' in cluster ? cluster.gke : `context:${cluster.context}`;
}

/** `switchyard targets`: the stored targets. */
export function targetsCommand(): Command {
  return new Command('targets')
    .description('list the stored ReleaseTargets; a stored target that no longer validates is reported')
    .addOption(outputOption())
    .action(async (opts: { output: OutputFormat }) => {
      const { targets, invalid } = await withStore((store) => store.list());
      const data = {
        targets: targets.map((t: StoredTarget) => ({ ...t, appliedAt: t.appliedAt.toISOString() })),
        invalid,
      };
      print(opts.output, data, () => {
        if (targets.length === 0) return 'No targets: store some with switchyard apply -f <file>';
        return table(
          ['NAME', 'REPOSITORY', 'CLUSTER', 'NAMESPACE', 'WORKLOAD', 'STRATEGY', 'GENERATION'],
          targets.map(({ target, generation }) => [
            target.metadata.name,
            target.spec.image.repository,
            clusterOf(target),
            target.spec.namespace,
            target.spec.workload,
            strategyOf(target),
            String(generation),
          ]),
        );
      });
      for (const bad of invalid) {
        const problems = bad.errors.map((e) => `${e.path}: ${e.message}`).join('; ');
        process.stderr.write(
          `switchyard: stored target "${bad.name}" is invalid and is ignored (${problems}); apply its file again\n`,
        );
      }
      if (invalid.length > 0) process.exitCode = exitCodes.failure;
    });
}

/** `switchyard templates`: the stored named analysis templates. */
export function templatesCommand(): Command {
  return new Command('templates')
    .description(
      'list the stored named AnalysisTemplates (applied with apply -f); one that no longer validates is reported',
    )
    .addOption(outputOption())
    .action(async (opts: { output: OutputFormat }) => {
      const { templates, invalid } = await withStore((store) => store.listTemplates());
      const data = {
        templates: templates.map((t) => ({ ...t, appliedAt: t.appliedAt.toISOString() })),
        invalid,
      };
      print(opts.output, data, () => {
        if (templates.length === 0)
          return 'No analysis templates: store some with switchyard apply -f <file> (kind: AnalysisTemplate)';
        return table(
          ['NAME', 'ARGS', 'METRICS', 'PROVIDERS', 'GENERATION', 'APPLIED'],
          templates.map(({ template, generation, appliedAt }) => [
            template.name,
            (template.args ?? []).map((a) => a.name).join(',') || '-',
            template.metrics.map((m) => m.name).join(','),
            [...new Set(template.metrics.map((m) => m.provider.kind))].join(','),
            String(generation),
            appliedAt.toISOString(),
          ]),
        );
      });
      for (const bad of invalid) {
        const problems = bad.errors.map((e) => `${e.path}: ${e.message}`).join('; ');
        process.stderr.write(
          `switchyard: stored analysis template "${bad.name}" is invalid and is ignored (${problems}); apply its file again\n`,
        );
      }
      if (invalid.length > 0) process.exitCode = exitCodes.failure;
    });
}
