// The one evaluator of analysis conditions: CEL (https://cel.dev) over `result`, with Buf's
// conformance-tested implementation (@bufbuild/cel). Expressions are parsed at apply time, so a bad
// one is refused with its position before any release runs.
import { isCelError, parse, run } from '@bufbuild/cel';

/** A syntax error of an expression: column (1-based) and what is wrong; null when it parses. */
export function celSyntaxError(expression: string): { column: number; line: number; message: string } | null {
  try {
    parse(expression);
    return null;
  } catch (err) {
    const text = err instanceof Error ? err.message : String(err);
    const m = /<input>:(\d+):(\d+): (.*)$/s.exec(text);
    return m
      ? { line: Number(m[1]), column: Number(m[2]), message: m[3]!.trim() }
      : { line: 1, column: 1, message: text };
  }
}

/** JSON values as CEL sees them: objects become maps (CEL has no plain-object type). */
function toCel(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(toCel);
  if (value && typeof value === 'object')
    return new Map(Object.entries(value).map(([k, v]) => [k, toCel(v)]));
  return value;
}

/**
 * Evaluates a condition with `result` bound to the measured value. Returns true/false, or an error
 * message when the expression fails at run time (a missing field, a type mismatch) or is not a bool.
 */
export function evaluateCondition(expression: string, result: unknown): boolean | { error: string } {
  const out = run(expression, { result: toCel(result) as never });
  if (isCelError(out)) return { error: `${expression}: ${out.message}` };
  if (typeof out !== 'boolean') return { error: `${expression}: gives ${typeof out}, not a bool` };
  return out;
}
