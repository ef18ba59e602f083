// The graph of release trains (SPEC §10): targets joined by dependsOn. Which targets make up a train
// (the connected component, edges taken both ways) and their dependency order, as the CLI draws a
// train and a Slack thread names its members. Pure; a cycle is refused at apply, and a stored one
// still never loops here.

/** A stored target as a train sees it: its name and what it depends on. */
export interface TrainTarget {
  name: string;
  dependsOn: readonly string[];
}

/** The names reachable from `start` over dependsOn edges taken both ways (`start` included). */
export function connected(start: readonly string[], targets: readonly TrainTarget[]): Set<string> {
  const seen = new Set<string>();
  const todo = [...start];
  while (todo.length > 0) {
    const n = todo.pop()!;
    if (seen.has(n)) continue;
    seen.add(n);
    const t = targets.find((x) => x.name === n);
    for (const d of t?.dependsOn ?? []) todo.push(d);
    for (const x of targets) if (x.dependsOn.includes(n)) todo.push(x.name);
  }
  return seen;
}

/**
 * Each of `members`' depth in the train: 1 for one that depends on no other member, else one more
 * than its deepest dependency among `members`.
 */
export function trainDepths(
  members: ReadonlySet<string>,
  targets: readonly TrainTarget[],
): Map<string, number> {
  const byName = new Map(targets.map((t) => [t.name, t]));
  const depths = new Map<string, number>();
  const depth = (name: string, path: ReadonlySet<string>): number => {
    const known = depths.get(name);
    if (known !== undefined) return known;
    const deps = (byName.get(name)?.dependsOn ?? []).filter((d) => members.has(d) && !path.has(d));
    const inner = new Set([...path, name]);
    const d = deps.length === 0 ? 1 : 1 + Math.max(...deps.map((x) => depth(x, inner)));
    depths.set(name, d);
    return d;
  };
  for (const name of members) depth(name, new Set());
  return depths;
}

/** The names of `targets` (one train) in dependency order: each after what it depends on, ties by name. */
export function dependencyOrder(targets: readonly TrainTarget[]): string[] {
  const depths = trainDepths(new Set(targets.map((t) => t.name)), targets);
  return [...depths].sort(([a, da], [b, db]) => da - db || a.localeCompare(b)).map(([name]) => name);
}

/** Whether the target is in a train: it depends on a target, or one depends on it. */
export function inTrain(name: string, targets: readonly TrainTarget[]): boolean {
  const t = targets.find((x) => x.name === name);
  return (t?.dependsOn.length ?? 0) > 0 || targets.some((x) => x.dependsOn.includes(name));
}
