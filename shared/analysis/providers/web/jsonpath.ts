// A small JSONPath subset for picking ONE value out of a JSON response: `$`, `.name`, `['name']` /
// `["name"]` and `[index]` (negative counts from the end, as in RFC 9535). No wildcards, slices,
// filters or script: a metric needs a single value, and evaluating user-written script (what some
// JSONPath libraries allow) is not something an analysis should ever do.

/** One step of a path: a member of an object or an element of an array. */
export type PathSegment = { member: string } | { index: number };

/** A parsed path; `source` is the text it came from (for messages). */
export interface JsonPath {
  source: string;
  segments: PathSegment[];
}

/** What a path found: `found: false` when a member or element along the way is missing. */
export type PathLookup = { found: true; value: unknown } | { found: false; missing: string };

const dotMember = /^[A-Za-z0-9_$-]+/;
const indexPattern = /^-?\d+/;

/**
 * Parses `text` into a path. Returns a message instead of throwing, so config validation can
 * report it; the message names the position where parsing stopped.
 */
export function parseJsonPath(text: string): JsonPath | { error: string } {
  if (!text.startsWith('$')) return { error: `JSONPath must start with "$": ${JSON.stringify(text)}` };
  const segments: PathSegment[] = [];
  let i = 1;
  const fail = (what: string) => ({
    error: `JSONPath ${JSON.stringify(text)}: ${what} at position ${i}`,
  });
  while (i < text.length) {
    const c = text[i];
    if (c === '.') {
      const m = dotMember.exec(text.slice(i + 1));
      if (!m) return fail('expected a member name after "."');
      segments.push({ member: m[0] });
      i += 1 + m[0].length;
    } else if (c === '[') {
      i = skipSpaces(text, i + 1);
      const q = text[i];
      if (q === "'" || q === '"') {
        const s = readQuoted(text, i);
        if ('error' in s) return fail(s.error);
        segments.push({ member: s.value });
        i = s.end;
      } else {
        const m = indexPattern.exec(text.slice(i));
        if (!m) return fail('expected a quoted name or an integer index after "["');
        const index = Number(m[0]);
        if (!Number.isSafeInteger(index)) return fail('index out of range');
        segments.push({ index });
        i += m[0].length;
      }
      i = skipSpaces(text, i);
      if (text[i] !== ']') return fail('expected "]"');
      i += 1;
    } else {
      return fail(`unexpected ${JSON.stringify(c)}`);
    }
  }
  return { source: text, segments };
}

function skipSpaces(text: string, i: number): number {
  while (text[i] === ' ' || text[i] === '\t') i += 1;
  return i;
}

/** Reads a quoted name starting at the quote at `start`; `\\`, `\'`, `\"` escape the next character. */
function readQuoted(text: string, start: number): { value: string; end: number } | { error: string } {
  const quote = text[start];
  let value = '';
  for (let i = start + 1; i < text.length; i += 1) {
    const c = text[i]!;
    if (c === '\\') {
      const next = text[i + 1];
      if (next === undefined) break;
      value += next;
      i += 1;
    } else if (c === quote) {
      return { value, end: i + 1 };
    } else {
      value += c;
    }
  }
  return { error: 'unterminated quoted name' };
}

/**
 * Follows `path` through a parsed JSON document. Only own members of plain objects and elements of
 * arrays are followed (never prototype properties such as `constructor`), so a path can only reach
 * what the JSON text itself contains.
 */
export function evaluateJsonPath(document: unknown, path: JsonPath): PathLookup {
  let current: unknown = document;
  let where = '$';
  for (const segment of path.segments) {
    if ('index' in segment) {
      where += `[${segment.index}]`;
      if (!Array.isArray(current)) return { found: false, missing: where };
      const i = segment.index < 0 ? current.length + segment.index : segment.index;
      if (i < 0 || i >= current.length) return { found: false, missing: where };
      current = current[i];
    } else {
      where += `[${JSON.stringify(segment.member)}]`;
      if (current === null || typeof current !== 'object' || Array.isArray(current)) {
        return { found: false, missing: where };
      }
      if (!Object.hasOwn(current, segment.member)) return { found: false, missing: where };
      current = (current as Record<string, unknown>)[segment.member];
    }
  }
  return { found: true, value: current };
}
