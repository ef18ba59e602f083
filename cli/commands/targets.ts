// `switchyard validate -f`, `apply -f`, `targets` and `templates`: files of ReleaseTargets and named
// AnalysisTemplates, and what is stored of them. `apply` stores nothing itself: it sends the
// documents, signed with the caller's ID token, to the control function, which validates them
// again, checks who may store each one, stores them and answers (issue 11); people need only read
// access to Firestore.
import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { Command, Option } from 'commander';
import type { AppliedDocument, RequestRecord } from '../../shared/adapters/store.ts';
import type { AnalysisTemplate } from '../../shared/analysis/schema.ts';
import { maxApplyMessageBytes, type SignedApplyMessage } from '../../shared/messages.ts';
import { documentsOf } from '../../shared/target/documents.ts';
import type { TargetError } from '../../shared/target/problems.ts';
import { checkClusterContexts, checkTemplateReferences } from '../../shared/target/references.ts';
import type { ReleaseTarget } from '../../shared/target/schema.ts';
import type { TargetStore } from '../../shared/target/store.ts';
import type { StoredTarget } from '../../shared/target/stored.ts';
import { explainFailure, withBackend } from '../backend.ts';
import { sendControl } from '../client.ts';
import { CliError, exitCodes } from '../exit-codes.ts';
import { callerIdToken, localUser } from '../identity.ts';
import { kubeconfigContexts, kubeconfigToCheck } from '../kubeconfig.ts';
import { type OutputFormat, outputOption, positive, print, table } from '../output.ts';
import { environmentSource } from '../stack-env.ts';

const fileOption = () =>
  new Option(
    '-f, --filename <file>',
    'YAML file of ReleaseTarget and AnalysisTemplate documents, separated by ---; - reads stdin',
  ).makeOptionMandatory();

type FileResult =
  | { ok: true; file: string; text: string; targets: ReleaseTarget[]; templates: AnalysisTemplate[] }
  | { ok: false; file: string; errors: TargetError[] };

/** Reads and validates a file; an unreadable file is one error of the input, like a syntax error. */
async function readTargets(file: string): Promise<FileResult> {
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
  // The schemas (and CEL, for analysis conditions) are loaded by the commands that read a file only.
  const { parseReleaseTargets } = await import('../../shared/target/yaml.ts');
  const parsed = parseReleaseTargets(text, name);
  return 'errors' in parsed
    ? { ok: false, file: name, errors: parsed.errors }
    : { ok: true, file: name, text, targets: parsed.targets, templates: parsed.templates };
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

/** Runs `work` with the configured backend, a failure explained as what to check or run. */
async function withStoreBackend<T>(work: Parameters<typeof withBackend<T>>[0]): Promise<T> {
  try {
    return await withBackend(work);
  } catch (err) {
    throw explainFailure(err);
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

/**
 * The targets' kubeconfig contexts that the kubeconfig the CLI knows of (kubeconfig.ts) lacks; none
 * when there is no kubeconfig to check against. One that cannot be read is reported and not checked.
 */
async function unknownContexts(
  result: Extract<FileResult, { ok: true }>,
  verb: string,
): Promise<TargetError[]> {
  if (!result.targets.some((t) => 'context' in t.spec.cluster)) return [];
  const kubeconfig = kubeconfigToCheck(environmentSource(), process.env);
  if (!kubeconfig) return [];
  const read = await kubeconfigContexts(kubeconfig);
  if ('error' in read) {
    process.stderr.write(`switchyard ${verb}: cluster contexts not checked: ${read.error}\n`);
    return [];
  }
  return checkClusterContexts(result.targets, read.contexts, kubeconfig);
}

/** Errors of separate checks in one list, in file order. */
function inFileOrder(...lists: TargetError[][]): TargetError[] {
  return lists.flat().sort((a, b) => a.document - b.document || (a.line ?? 0) - (b.line ?? 0));
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
      const result = await readTargets(opts.filename);
      if (!result.ok) return reportInvalid(opts.output, result, '');
      const unresolved = inFileOrder(
        await unresolvedForValidate(result),
        await unknownContexts(result, 'validate'),
      );
      if (unresolved.length > 0)
        return reportInvalid(opts.output, { ...result, ok: false, errors: unresolved }, '');
      print(
        opts.output,
        { file: result.file, valid: true, targets: result.targets, templates: result.templates },
        (d) => `${d.file}: ${contents(d.targets.length, d.templates.length)} valid`,
      );
    });
}

/**
 * The apply message of a valid file: its documents as written, signed; refused here, before
 * anything is sent, when it would not fit in one Pub/Sub message.
 */
export async function applyMessageOf(
  result: Extract<FileResult, { ok: true }>,
  idToken: string,
): Promise<SignedApplyMessage & { requestId: string }> {
  const msg = {
    command: 'apply' as const,
    documents: documentsOf(result.text),
    source: result.file.slice(0, 500),
    requestedBy: localUser(),
    requestId: randomUUID(),
    idToken,
  };
  const bytes = Buffer.byteLength(JSON.stringify(msg));
  if (bytes > maxApplyMessageBytes) {
    throw new CliError(
      exitCodes.invalidInput,
      `${result.file}: ${(bytes / 1e6).toFixed(1)} MB as an apply message, over the ${(maxApplyMessageBytes / 1e6).toFixed(2)} MB one Pub/Sub message holds; nothing was applied: split it into smaller files and apply each`,
    );
  }
  return msg;
}

/** The lines of an applied file: one per document, templates first (the targets refer to them). */
function appliedLines(rows: readonly AppliedDocument[]): string {
  return rows
    .map((r) => `${r.kind.toLowerCase()}/${r.name} ${r.result} (generation ${r.generation})`)
    .join('\n');
}

/** True when the refusal is about the documents themselves (invalid, or naming a missing template). */
function refusedAsInvalid(answer: RequestRecord): boolean {
  return answer.code === 'invalid' && (answer.errors ?? []).length > 0;
}

/**
 * `switchyard apply -f <file>`: validates, checks that every analysis reference names a template
 * (inline, in the file, or stored), then sends every target and template of the file to the control
 * function, which stores all of them or, when any is refused, none, and answers.
 */
export function applyCommand(): Command {
  return new Command('apply')
    .description(
      'store the ReleaseTargets and AnalysisTemplates of a file, through the control function (signed with your ID token): all of them or, on any error or refusal, none; prints created, configured or unchanged for each',
    )
    .addOption(fileOption())
    .addOption(
      new Option('--timeout <seconds>', 'how long to wait for the answer')
        .default(60)
        .argParser((v) => positive(v)),
    )
    .addOption(outputOption())
    .action(async (opts: { filename: string; output: OutputFormat; timeout: number }) => {
      const result = await readTargets(opts.filename);
      if (!result.ok) return reportInvalid(opts.output, result, '; nothing was applied');
      const contexts = await unknownContexts(result, 'apply');
      const answer = await withStoreBackend(async (b): Promise<{ errors: TargetError[] } | RequestRecord> => {
        // Stored template names are read only when the file does not resolve every reference itself
        // (the control function checks again before it stores anything).
        const local = checkTemplateReferences(result.targets, result.templates, new Set());
        const known = local.length === 0 ? [] : await b.targets.templateNames();
        const unresolved = inFileOrder(
          checkTemplateReferences(result.targets, result.templates, new Set(known)),
          contexts,
        );
        if (unresolved.length > 0) return { errors: unresolved };
        const msg = await applyMessageOf(result, await callerIdToken(b.cfg));
        const recorded = await sendControl(
          { pubsub: await b.pubsub(), store: b.store, prefix: b.cfg.prefix },
          msg,
          opts.timeout * 1000,
        );
        if (!recorded) {
          throw new CliError(
            exitCodes.failure,
            `no answer to apply within ${opts.timeout} s (request ${msg.requestId}); it may still be applied (\`switchyard targets\` shows what is stored): is the control function running? \`switchyard dev status\` shows the local stack; on Google Cloud, read the control function's logs`,
          );
        }
        return recorded;
      });
      if ('errors' in answer && !('outcome' in answer))
        return reportInvalid(
          opts.output,
          { file: result.file, ok: false, errors: answer.errors },
          '; nothing was applied',
        );
      const record = answer as RequestRecord;
      if (record.outcome === 'refused') {
        if (refusedAsInvalid(record))
          return reportInvalid(
            opts.output,
            { file: result.file, ok: false, errors: record.errors ?? [] },
            '; nothing was applied',
          );
        if (opts.output !== 'text') {
          print(opts.output, record, () => '');
          process.exitCode = exitCodes.refused;
          return;
        }
        const refusals = record.errors ?? [];
        if (refusals.length <= 1) {
          throw new CliError(
            exitCodes.refused,
            `${result.file}: refused: ${(record.reason ?? 'no reason given').replace(/^apply: /, '')}`,
          );
        }
        for (const e of refusals) process.stderr.write(`${errorLine(result.file, e)}\n`);
        throw new CliError(
          exitCodes.refused,
          `${result.file}: refused: ${refusals.length} documents may not be applied by who asked; nothing was applied`,
        );
      }
      print(opts.output, record.documents ?? [], appliedLines);
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
          ['NAME', 'REPOSITORY', 'CLUSTER', 'NAMESPACE', 'WORKLOAD', 'STRATEGY', 'DEPENDS-ON', 'GENERATION'],
          targets.map(({ target, generation }) => [
            target.metadata.name,
            target.spec.image.repository,
            clusterOf(target),
            target.spec.namespace,
            target.spec.workload,
            strategyOf(target),
            (target.spec.dependsOn ?? []).join(',') || '-',
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
