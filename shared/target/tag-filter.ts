// A target's tagFilter (SPEC §3) is an RE2 regular expression, matched in time linear in the tag's
// length. A JavaScript RegExp backtracks: `^v?(\d+\.?)+$` against a 31-character tag that does not
// match took 75 s inside the push transaction and held deploy-green for every target (issue 11).
// RE2 has no lookarounds and no backreferences, the two features that need backtracking; a filter
// that uses them is refused when the target is validated, with a message that says so.
// This one module compiles and matches filters, for validate (the schema) and push intake alike.
//
// The engine is re2js, a port of RE2 (through RE2/J) to plain JavaScript: the same syntax and the
// same linear-time guarantee as Google's C++ RE2, with nothing to compile or download at install
// time (the `re2` binding fetches a prebuilt addon from GitHub or builds RE2 with node-gyp).
import { RE2JS } from 're2js';

/** Longest filter accepted: tags are at most 128 characters, and RE2's program grows with the filter. */
export const maxTagFilterLength = 1000;

/** A compiled filter, or why the filter cannot be run. */
type Compiled = { ok: true; re: RE2JS } | { ok: false; problem: string };

// Filters seen by this process, compiled once. Bounded: a function instance lives for many pushes.
const cache = new Map<string, Compiled>();
const cacheLimit = 500;

function compile(source: string): Compiled {
  const known = cache.get(source);
  if (known) return known;
  let compiled: Compiled;
  if (source.length > maxTagFilterLength) {
    compiled = { ok: false, problem: `is ${source.length} characters long: at most ${maxTagFilterLength}` };
  } else {
    try {
      compiled = { ok: true, re: RE2JS.compile(source) };
    } catch (err) {
      compiled = { ok: false, problem: explain(source, err) };
    }
  }
  if (cache.size >= cacheLimit) cache.delete(cache.keys().next().value as string);
  cache.set(source, compiled);
  return compiled;
}

/** Why RE2 refuses `source`, in words a target author can act on. */
function explain(source: string, err: unknown): string {
  // RE2's own words for these ("invalid named capture", "invalid escape sequence") do not say that
  // the feature exists elsewhere and was left out on purpose.
  if (/\(\?<?[=!]/.test(source)) {
    return 'lookarounds ((?=…), (?!…), (?<=…), (?<!…)) are not supported: tagFilter is an RE2 expression, matched in linear time without backtracking; write the filter without them';
  }
  if (/\\[1-9]|\\k</.test(source)) {
    return 'backreferences (\\1, \\k<name>) are not supported: tagFilter is an RE2 expression, matched in linear time without backtracking; write the filter without them';
  }
  const message = (err instanceof Error ? err.message : String(err)).replace(/^error parsing regexp: /, '');
  return `invalid regular expression: ${message}`;
}

/**
 * Why `source` cannot be a tagFilter (it is not an RE2 expression, or is too long), or null when it
 * can. What validate reports, at the field's path.
 */
export function tagFilterProblem(source: string): string | null {
  const compiled = compile(source);
  return compiled.ok ? null : compiled.problem;
}

/**
 * Whether `tag` matches the filter `source` anywhere (not anchored: `^…$` anchors), in time linear
 * in the tag's length; `{problem}` when the filter cannot be run (a target stored without validate,
 * or under an older schema). Never throws.
 */
export function matchTagFilter(source: string, tag: string): boolean | { problem: string } {
  const compiled = compile(source);
  return compiled.ok ? compiled.re.test(tag) : { problem: compiled.problem };
}

/**
 * The version a tag stands for in a release train: the text of capture group `group` (a number, or
 * a name given as `(?P<name>…)`) of the filter's first match, or the tag itself when there is no
 * group, no match, or the group took no part in it. Never throws.
 */
export function tagVersion(
  source: string | undefined,
  group: number | string | undefined,
  tag: string,
): string {
  if (source === undefined || group === undefined) return tag;
  const compiled = compile(source);
  if (!compiled.ok) return tag;
  const m = compiled.re.matcher(tag);
  if (!m.find()) return tag;
  try {
    return m.group(group) || tag;
  } catch {
    return tag;
  }
}

/** Why `group` is not a capture group of the filter `source`, or null when it is one. */
export function versionGroupProblem(source: string, group: number | string): string | null {
  const compiled = compile(source);
  if (!compiled.ok) return null; // said of tagFilter itself
  if (typeof group === 'number') {
    const count = compiled.re.groupCount();
    return group >= 1 && group <= count
      ? null
      : `tagFilter ${source} has ${count} capture group(s): name one of 1..${count}, or a named group (?P<name>…)`;
  }
  const names = Object.keys(compiled.re.namedGroups());
  return names.includes(group)
    ? null
    : `tagFilter ${source} has no capture group named ${group}${names.length ? ` (it has ${names.join(', ')})` : ''}`;
}
