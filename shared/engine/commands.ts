// Commands are data: decide() returns them, adapters carry them out, the history records them.
import type { RevisionSpec } from '../kubernetes/types.ts';
import type { HeaderRoute } from '../routers/router.ts';

export type Command =
  /** Create the revision's Deployment, or scale it to spec.replicas. */
  | { type: 'EnsureRevision'; spec: RevisionSpec }
  | { type: 'ScaleRevision'; deployment: string; replicas: number }
  /** Scale the adopted plain Deployment (kept at zero after adoption). */
  | { type: 'ScalePlainDeployment'; deployment: string; replicas: number }
  /**
   * Make a Service select exactly one revision of the workload; with `onlyFrom`, only if it still
   * names that revision when written (else nothing changes).
   */
  | { type: 'SelectRevision'; service: string; revision: string; onlyFrom?: string }
  /** Give a Service back the selector it had before Switchyard narrowed it (an adoption undone). */
  | { type: 'RestoreSelector'; service: string; selector: Record<string, string> }
  | { type: 'MoveHpa'; from: string; to: string }
  /** Remove a revision; refused by the adapter while one of the target's Services selects it. */
  | { type: 'DeleteRevision'; deployment: string }
  /** Canary: ready the traffic router at weight 0 (e.g. create the canary Ingress). */
  | { type: 'PrepareRouter' }
  /** Canary: send `weight` % of traffic (and the header route) to the canary. */
  | { type: 'SetWeight'; weight: number; headerRoute: HeaderRoute | null }
  /** Canary: all traffic to the stable Service, which keeps (or now has) `stableRevision`. */
  | { type: 'FinalizeRouter'; stableRevision: string };

/** One line for the history: `SelectRevision api -> 3f2a…`. */
export function describeCommand(c: Command): string {
  switch (c.type) {
    case 'EnsureRevision':
      return `EnsureRevision ${c.spec.workload}-${c.spec.revision} replicas=${c.spec.replicas}`;
    case 'ScaleRevision':
      return `ScaleRevision ${c.deployment} replicas=${c.replicas}`;
    case 'ScalePlainDeployment':
      return `ScalePlainDeployment ${c.deployment} replicas=${c.replicas}`;
    case 'SelectRevision':
      return `SelectRevision ${c.service} -> ${c.revision}`;
    case 'RestoreSelector':
      return `RestoreSelector ${c.service} -> ${Object.entries(c.selector)
        .map(([k, v]) => `${k}=${v}`)
        .join(',')}`;
    case 'MoveHpa':
      return `MoveHpa ${c.from} -> ${c.to}`;
    case 'DeleteRevision':
      return `DeleteRevision ${c.deployment}`;
    case 'PrepareRouter':
      return 'PrepareRouter';
    case 'SetWeight':
      return `SetWeight ${c.weight}${c.headerRoute ? ` header route ${c.headerRoute.name}` : ''}`;
    case 'FinalizeRouter':
      return `FinalizeRouter stable -> ${c.stableRevision}`;
  }
}
