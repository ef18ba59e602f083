// Which old revisions go (SPEC §3 revisionHistoryLimit): everything but the stable revision and the
// newest `limit` earlier ones, and never one that a Service selects or that still has replicas. Pure.
import type { WorkloadSnapshot } from '../kubernetes/types.ts';
import type { Workload } from './release.ts';

export function revisionsToRemove(workload: Workload, snapshot: WorkloadSnapshot, limit: number): string[] {
  const keep = new Set<string>();
  if (workload.stable) keep.add(workload.stable.revision);
  for (const p of workload.previous.slice(0, limit)) keep.add(p.revision);
  const selected = new Set<string>();
  for (const service of Object.values(snapshot.services)) {
    const revision = service?.selector['switchyard.dev/revision'];
    if (revision) selected.add(revision);
  }
  return Object.values(snapshot.revisions)
    .filter((r) => !keep.has(r.revision) && !selected.has(r.revision) && r.desired === 0)
    .map((r) => r.name)
    .sort();
}
