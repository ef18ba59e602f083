// The graph of release trains (SPEC §10): every target a target depends on (spec.dependsOn) must
// exist, among the targets being applied or those stored, and the graph they make together must
// have no cycle. Pure: the stored graph is read by the caller.
import { sortErrors, type TargetError } from './problems.ts';
import { errorAt } from './references.ts';
import type { ReleaseTarget } from './schema.ts';

/** Each target's dependencies, by name. */
export type DependencyGraph = ReadonlyMap<string, readonly string[]>;

/** The graph the stored targets make once `targets` are applied over them. */
export function graphWith(targets: readonly ReleaseTarget[], stored: DependencyGraph): DependencyGraph {
  const graph = new Map(stored);
  for (const t of targets) graph.set(t.metadata.name, t.spec.dependsOn ?? []);
  return graph;
}

/**
 * The problems of `targets`' dependencies over the `stored` graph: one per unknown target named (at
 * its spec.dependsOn entry), and one per cycle through a target being applied, naming the cycle.
 */
export function checkDependencies(targets: readonly ReleaseTarget[], stored: DependencyGraph): TargetError[] {
  const graph = graphWith(targets, stored);
  const errors: TargetError[] = [];
  const reported = new Set<string>();
  targets.forEach((target, i) => {
    const name = target.metadata.name;
    (target.spec.dependsOn ?? []).forEach((dependency, j) => {
      const at = ['spec', 'dependsOn', j];
      if (!graph.has(dependency)) {
        const message = `no target "${dependency}" to depend on: apply it first or in the same file, or fix the name`;
        errors.push(errorAt(target, i, at, message));
        return;
      }
      const cycle = pathBack(graph, dependency, name);
      if (!cycle) return;
      const ring = [name, ...cycle];
      const key = [...ring.slice(0, -1)].sort().join(',');
      if (reported.has(key)) return;
      reported.add(key);
      const message = `dependsOn makes a cycle: ${ring.join(' -> ')}; a train must have an order, remove one of these dependencies`;
      errors.push(errorAt(target, i, at, message));
    });
  });
  return sortErrors(errors);
}

/** A path of dependencies from `from` to `to` (both included), or null when there is none. */
function pathBack(graph: DependencyGraph, from: string, to: string): string[] | null {
  const seen = new Set<string>();
  const walk = (node: string): string[] | null => {
    if (node === to) return [node];
    if (seen.has(node)) return null;
    seen.add(node);
    for (const next of graph.get(node) ?? []) {
      const rest = walk(next);
      if (rest) return [node, ...rest];
    }
    return null;
  };
  return walk(from);
}
