// The one duration grammar of ReleaseTargets and AnalysisTemplates: Go's time.ParseDuration, as
// Argo Rollouts accepts it ("30s", "5m", "1h30m", "1.5h", "250ms"), or a number of seconds. Values
// become seconds. Negative durations are refused: no wait is shorter than none.
import { z } from 'zod';

const units: Record<string, number> = {
  ns: 1e-9,
  us: 1e-6,
  µs: 1e-6,
  μs: 1e-6,
  ms: 1e-3,
  s: 1,
  m: 60,
  h: 3600,
};
const part = '(\\d+(?:\\.\\d*)?|\\.\\d+)(ns|us|µs|μs|ms|s|m|h)';
/** One or more number+unit parts, or a bare 0 (Go accepts "0" alone). */
export const durationPattern = new RegExp(`^(?:0|(?:${part})+)$`);
const partPattern = new RegExp(part, 'g');

/** Seconds of a Go-style duration, or null when the text is not one. */
export function parseDuration(text: string): number | null {
  if (!durationPattern.test(text)) return null;
  if (text === '0') return 0;
  let seconds = 0;
  for (const m of text.matchAll(partPattern)) seconds += Number(m[1]) * units[m[2]!]!;
  return seconds;
}

export const durationHint =
  'must be a duration like 30s, 5m, 1h30m or 250ms (Go syntax), or a number of seconds';

/**
 * A duration field: a number of seconds (`whole`: an integer) or a Go-style duration string;
 * parses to seconds. `whole` durations must come out as whole seconds.
 */
export function durationSeconds(opts: { whole?: boolean } = {}) {
  const number = opts.whole ? z.int().min(0, 'must be >= 0') : z.number().min(0, 'must be >= 0');
  return z.union([number, z.string().regex(durationPattern, durationHint)]).transform((v, ctx) => {
    if (typeof v === 'number') return v;
    const seconds = parseDuration(v)!;
    if (opts.whole && !Number.isInteger(Math.round(seconds * 1e6) / 1e6)) {
      ctx.addIssue({ code: 'custom', message: `${v} is not a whole number of seconds` });
      return z.NEVER;
    }
    return opts.whole ? Math.round(seconds) : seconds;
  });
}
