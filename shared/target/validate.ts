// Validating Switchyard documents: the one code path that checks a document, by its kind, against
// the schemas of schema.ts. It serves a file the CLI reads (yaml.ts, with lines), the documents an
// apply sends to the control function (documents.ts, without) and documents read back from
// Firestore (store.ts, one at a time).
import type { z } from 'zod';
import type { AnalysisTemplate } from '../analysis/schema.ts';
import { formatPath, type Problem, problemsOf, sortErrors, type TargetError } from './problems.ts';
import {
  analysisTemplateDocumentSchema,
  analysisTemplateKind,
  type DocumentSchema,
  documentKinds,
  kind,
  type ReleaseTarget,
  releaseTargetSchema,
  templateOf,
} from './schema.ts';

function check<S extends DocumentSchema>(
  schema: S,
  data: unknown,
): { value: z.output<S> } | { problems: Problem[] } {
  const parsed = schema.safeParse(data, { reportInput: true });
  return parsed.success
    ? { value: parsed.data as z.output<S> }
    : { problems: problemsOf(schema, parsed.error.issues) };
}

function errorsOf(problems: readonly Problem[], document: number | null): TargetError[] {
  return problems.map((p) => ({
    document: document ?? 0,
    path: formatPath(document, p.path),
    message: p.message,
  }));
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

/** What a valid file holds: its targets and its named analysis templates, each in file order. */
export interface ParsedFile {
  targets: ReleaseTarget[];
  templates: AnalysisTemplate[];
}

/** Where in a file a part of a document is: its 1-based line, when known. */
export type LineOf = (path: readonly PropertyKey[]) => number | undefined;

/** One document of a file as read: its data (null when empty: skipped, but counted), or why not. */
export type FileDocument = { data: unknown; line?: LineOf } | { errors: TargetError[] };

/** Where a validated target came from, to give later checks (references.ts) lines too. */
export interface Source {
  document: number;
  line: LineOf;
}

// Kept apart from the targets, so that a target stays plain data (stored and compared as it is).
const sources = new WeakMap<ReleaseTarget, Source>();

/** Where `target` came from, when validateFile read it from a file with lines. */
export function sourceOf(target: ReleaseTarget): Source | undefined {
  return sources.get(target);
}

/** A value that can be a mapping's data: anything but null, a list or a scalar. */
export function isMapping(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

type Kind = (typeof documentKinds)[number];
/** The first document of the file that used each name, by kind (each kind has a name space). */
type FirstUse = Record<Kind, Map<string, number>>;
type Validated = { problems: Problem[] } | { target: ReleaseTarget } | { template: AnalysisTemplate };

function kindProblem(docKind: unknown): Problem {
  const allowed = documentKinds.join(', ');
  return {
    path: ['kind'],
    message:
      docKind === undefined
        ? `required: one of ${allowed}`
        : `unknown kind ${JSON.stringify(docKind).slice(0, 80)}: must be one of ${allowed}`,
  };
}

function duplicateName(data: Record<string, unknown>, docKind: Kind, index: number, firstUse: FirstUse) {
  const name = (data.metadata as { name?: unknown } | null | undefined)?.name;
  if (typeof name !== 'string') return [];
  const first = firstUse[docKind].get(name);
  if (first === undefined) {
    firstUse[docKind].set(name, index);
    return [];
  }
  const what = docKind === kind ? 'target' : 'analysis template';
  return [
    {
      path: ['metadata', 'name'],
      message: `duplicate ${what} name "${name}": documents[${first}] already uses it; names must be unique`,
    },
  ];
}

/** One document of a file: by its kind (without a known one the other fields cannot be judged). */
function validateDocument(data: unknown, index: number, firstUse: FirstUse): Validated {
  if (!isMapping(data)) return { problems: [{ path: [], message: 'must be a mapping' }] };
  const docKind = data.kind;
  if (docKind !== kind && docKind !== analysisTemplateKind) return { problems: [kindProblem(docKind)] };
  const duplicate: Problem[] = duplicateName(data, docKind, index, firstUse);
  if (docKind === kind) {
    const result = check(releaseTargetSchema, data);
    if ('problems' in result) return { problems: [...duplicate, ...result.problems] };
    return duplicate.length > 0 ? { problems: duplicate } : { target: result.value };
  }
  const result = check(analysisTemplateDocumentSchema, data);
  if ('problems' in result) return { problems: [...duplicate, ...result.problems] };
  return duplicate.length > 0 ? { problems: duplicate } : { template: templateOf(result.value) };
}

/**
 * Validates the documents of a file, each by its `kind`: every target and named template with
 * its defaults applied, or every problem of every document (with lines where the document has
 * them), sorted by document and line. Names must be unique per kind in the file, and the file must
 * hold at least one document (`holder` names the file in that message). Whether the strategies'
 * analysis references name existing templates is checked apart (references.ts).
 */
export function validateFile(
  documents: readonly FileDocument[],
  holder: string,
): ParsedFile | { errors: TargetError[] } {
  const errors: TargetError[] = [];
  const file: ParsedFile = { targets: [], templates: [] };
  const firstUse: FirstUse = { [kind]: new Map(), [analysisTemplateKind]: new Map() };
  documents.forEach((doc, index) => {
    if ('errors' in doc) errors.push(...doc.errors);
    if ('errors' in doc || doc.data === null) return;
    const result = validateDocument(doc.data, index, firstUse);
    if ('problems' in result) {
      for (const { path, message } of result.problems) {
        const at = doc.line ? { line: doc.line(path) } : {};
        errors.push({ document: index, path: formatPath(index, path), message, ...at });
      }
    } else if ('target' in result) {
      if (doc.line) sources.set(result.target, { document: index, line: doc.line });
      file.targets.push(result.target);
    } else file.templates.push(result.template);
  });
  if (errors.length === 0 && file.targets.length === 0 && file.templates.length === 0) {
    errors.push({ document: 0, path: '', message: `${holder} holds no ReleaseTarget document` });
  }
  return errors.length > 0 ? { errors: sortErrors(errors) } : file;
}
