// What one function invocation cost: Firestore reads and writes, Pub/Sub publishes, Kubernetes API
// calls. Counted per invocation (AsyncLocalStorage follows the invocation through its promises) and
// logged when it ends, so a release's cost can be summed from the logs (npm run bench does).
import { AsyncLocalStorage } from 'node:async_hooks';

export interface InvocationMetrics {
  firestoreReads: number;
  firestoreWrites: number;
  pubsubPublishes: number;
  kubernetesReads: number;
  kubernetesWrites: number;
  /** Releases this invocation worked on. */
  releaseIds: string[];
}

type Counter = Exclude<keyof InvocationMetrics, 'releaseIds'>;

const current = new AsyncLocalStorage<InvocationMetrics>();

/** Runs `fn` with fresh counters; returns its result and the counters. */
export async function measured<T>(fn: () => Promise<T>): Promise<{ result: T; metrics: InvocationMetrics }> {
  const metrics: InvocationMetrics = {
    firestoreReads: 0,
    firestoreWrites: 0,
    pubsubPublishes: 0,
    kubernetesReads: 0,
    kubernetesWrites: 0,
    releaseIds: [],
  };
  const result = await current.run(metrics, fn);
  return { result, metrics };
}

/** Adds to a counter of the running invocation (no-op outside one, e.g. in the CLI). */
export function count(counter: Counter, n = 1): void {
  const m = current.getStore();
  if (m) m[counter] += n;
}

/** Notes that the running invocation worked on a release. */
export function noteRelease(id: string | null | undefined): void {
  const m = current.getStore();
  if (m && id && !m.releaseIds.includes(id)) m.releaseIds.push(id);
}
