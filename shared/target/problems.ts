// The problems of a Switchyard document as a user reads them: zod's issues turned into one message
// per mistake, each at the path of the field at fault (`documents[1].spec.containers[0]`), sorted by
// document and line.
import type { z } from 'zod';
import type { DocumentSchema } from './schema.ts';

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

/** A problem of one document, at a path inside it (formatPath renders it). */
export interface Problem {
  path: PropertyKey[];
  message: string;
  /** Set for "unknown field" problems: the key. */
  unknownKey?: string;
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

/** Errors in file order: by document, then by line. */
export function sortErrors(errors: TargetError[]): TargetError[] {
  return errors.sort((a, b) => a.document - b.document || (a.line ?? 0) - (b.line ?? 0));
}

/** What a value is, for messages: "a list", "a mapping", `string "x"`. */
export function describeValue(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'a list';
  if (typeof value === 'object') return 'a mapping';
  return `${typeof value} ${JSON.stringify(value)}`;
}

// Walks zod's schema definitions (`_zod.def`, zod 4's API for tools built on zod).
type Def = {
  type: string;
  shape?: Record<string, { _zod: { def: Def } }>;
  innerType?: { _zod: { def: Def } };
  element?: { _zod: { def: Def } };
  options?: { _zod: { def: Def } }[];
  in?: { _zod: { def: Def } };
};

/** The definitions a value is checked against: wrappers unwrapped, every branch of a union. */
function unwrap(def: Def): Def[] {
  if (def.innerType) return unwrap(def.innerType._zod.def);
  if (def.type === 'pipe' && def.in) return unwrap(def.in._zod.def);
  if (def.type === 'union' && def.options) return def.options.flatMap((o) => unwrap(o._zod.def));
  return [def];
}

/**
 * Field names the object schema at `path` of `root` allows (for "unknown field" messages), or []
 * if unknown. Objects descend by key, arrays by element, unions collect the keys of every branch.
 */
function allowedKeys(root: DocumentSchema, path: readonly PropertyKey[]): string[] {
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

type Issue<Code extends z.core.$ZodIssue['code']> = Extract<z.core.$ZodIssue, { code: Code }>;

function unknownKeyProblems(root: DocumentSchema, issue: Issue<'unrecognized_keys'>, path: PropertyKey[]) {
  const allowed = allowedKeys(root, path);
  return issue.keys.map((key) => ({
    path: [...path, key],
    message: `unknown field "${key}"${allowed.length ? ` (allowed: ${allowed.join(', ')})` : ''}`,
    unknownKey: key,
  }));
}

/**
 * The problems of the branch the user evidently meant (the one with the fewest problems). When no
 * branch stands out, or the best one only objects to a key of another branch (both shapes mixed),
 * the union's own message says which shapes are accepted.
 */
function unionProblems(root: DocumentSchema, issue: Issue<'invalid_union'>, path: PropertyKey[]): Problem[] {
  if (issue.input === undefined) return [{ path, message: 'required' }];
  const branches = issue.errors.map((errs) => problemsOf(root, errs, path));
  const unionKeys = allowedKeys(root, path);
  // A branch that refuses a key another branch is made of was not the one meant: when one
  // branch alone takes every key given, its problems are the ones to report, however many.
  const wrongShape = (b: Problem[]) =>
    b.some(
      (p) =>
        p.unknownKey !== undefined && p.path.length === path.length + 1 && unionKeys.includes(p.unknownKey),
    );
  const shaped = branches.filter((b) => !wrongShape(b));
  if (shaped.length === 1 && shaped[0]) return shaped[0];
  const best = Math.min(...branches.map((b) => b.length));
  const winners = branches.filter((b) => b.length === best);
  const mixed = winners[0] !== undefined && wrongShape(winners[0]);
  if (winners.length === 1 && winners[0] && !mixed) return winners[0];
  return [{ path, message: issue.message }];
}

function typeMessage(issue: Issue<'invalid_type'>): string {
  if (issue.input === undefined) return 'required';
  if (issue.expected === 'object') return `must be a mapping, not ${describeValue(issue.input)}`;
  if (issue.expected === 'array') return `must be a list, not ${describeValue(issue.input)}`;
  if (issue.message.startsWith('must')) return issue.message;
  return `must be a ${issue.expected}, not ${describeValue(issue.input)}`;
}

function valueMessage(issue: Issue<'invalid_value'>): string {
  return issue.values.length === 1
    ? `must be ${JSON.stringify(issue.values[0])}`
    : `must be one of: ${issue.values.map((v) => String(v)).join(', ')}`;
}

/** Turns zod issues into one readable problem per mistake, with the path of the field at fault. */
export function problemsOf(
  root: DocumentSchema,
  issues: readonly z.core.$ZodIssue[],
  base: PropertyKey[] = [],
): Problem[] {
  return issues.flatMap((issue): Problem[] => {
    const path = [...base, ...issue.path];
    switch (issue.code) {
      case 'unrecognized_keys':
        return unknownKeyProblems(root, issue, path);
      case 'invalid_union':
        return unionProblems(root, issue, path);
      case 'invalid_key':
        // A record key refused by its own schema (an annotation key, a label key): say why.
        return problemsOf(root, issue.issues, path);
      case 'invalid_type':
        return [{ path, message: typeMessage(issue) }];
      case 'invalid_value':
        return [{ path, message: valueMessage(issue) }];
      default:
        return [{ path, message: issue.message }];
    }
  });
}
