// Helpers of the trace printed with a failure: model time, and repeated blocks collapsed.

export const fmtTime = (ms: number) => `${(ms / 1000).toFixed(2)}s`;

/** Lines repeating as a block (a release polling while it waits) shown once, with the count. */
export function collapse(lines: string[]): string[] {
  const shape = (l: string) => l.replace(/\d+(\.\d+)?/g, '#');
  const same = (i: number, j: number, size: number) =>
    lines.slice(i, i + size).every((l, k) => shape(l) === shape(lines[j + k] ?? ''));
  const out: string[] = [];
  let i = 0;
  while (i < lines.length) {
    let best = { size: 1, times: 0 };
    for (let size = 1; size <= 4; size++) {
      let times = 0;
      while (i + (times + 2) * size <= lines.length && same(i, i + (times + 1) * size, size)) times += 1;
      if (times * size > best.times * best.size) best = { size, times };
    }
    if (best.times >= 2) {
      out.push(...lines.slice(i, i + best.size), `… the same ${best.times} more time(s)`);
      i += (best.times + 1) * best.size;
    } else {
      out.push(lines[i]!);
      i += 1;
    }
  }
  return out;
}
