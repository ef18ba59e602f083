// Where releases live in Firestore:
//   targets/<name>          ReleaseTarget documents (written by `switchyard apply`)
//   workloads/<target>      what the engine knows of a target's workload across releases
//   releases/<id>           one release: its state machine, revisions and history
//   pushes/<messageId>:<t>  what each image push meant for each target (released or ignored, and why)
//   requests/<requestId>    the answer to each control message (applied or refused, and why)
import type { DocumentData, DocumentReference, Firestore, Transaction } from '@google-cloud/firestore';
import { emptyWorkload, isTerminal, type Release, type Workload } from '../engine/release.ts';
import type { EngineTarget } from '../engine/target.ts';

export const collections = {
  targets: 'targets',
  workloads: 'workloads',
  releases: 'releases',
  pushes: 'pushes',
  requests: 'requests',
} as const;

export interface PushRecord {
  messageId: string;
  receivedAt: number;
  message: unknown;
  target: string | null;
  outcome: 'released' | 'ignored';
  reason: string | null;
  releaseId: string | null;
}

export interface RequestRecord {
  requestId: string;
  receivedAt: number;
  command: string;
  target: string;
  requestedBy: string;
  outcome: 'applied' | 'refused';
  reason: string | null;
  releaseId: string | null;
}

/** Typed access to Switchyard's documents; every method is a plain read or write, no logic. */
export class Store {
  readonly db: Firestore;
  constructor(db: Firestore) {
    this.db = db;
  }

  releaseRef(id: string): DocumentReference {
    return this.db.collection(collections.releases).doc(id);
  }
  workloadRef(target: string): DocumentReference {
    return this.db.collection(collections.workloads).doc(target);
  }
  targetRef(name: string): DocumentReference {
    return this.db.collection(collections.targets).doc(name);
  }
  pushRef(messageId: string, target: string): DocumentReference {
    return this.db.collection(collections.pushes).doc(`${messageId}:${target}`);
  }
  requestRef(requestId: string): DocumentReference {
    return this.db.collection(collections.requests).doc(requestId);
  }

  async target(name: string, tx?: Transaction): Promise<EngineTarget | null> {
    const snap = tx ? await tx.get(this.targetRef(name)) : await this.targetRef(name).get();
    return snap.exists ? toEngineTarget(snap.id, snap.data()!) : null;
  }

  async targetsForRepository(repository: string): Promise<EngineTarget[]> {
    const q = await this.db
      .collection(collections.targets)
      .where('spec.image.repository', '==', repository)
      .get();
    return q.docs.map((d) => toEngineTarget(d.id, d.data()));
  }

  async release(id: string, tx?: Transaction): Promise<Release | null> {
    const snap = tx ? await tx.get(this.releaseRef(id)) : await this.releaseRef(id).get();
    return snap.exists ? (snap.data() as Release) : null;
  }

  async workload(target: string, tx?: Transaction): Promise<Workload> {
    const snap = tx ? await tx.get(this.workloadRef(target)) : await this.workloadRef(target).get();
    return snap.exists ? { ...emptyWorkload(target), ...(snap.data() as Workload) } : emptyWorkload(target);
  }

  /** The releases of a workload that are in flight or queued. */
  async liveReleases(workload: Workload, tx: Transaction): Promise<Release[]> {
    const ids = [...new Set([workload.inFlight, workload.queued].filter((id): id is string => !!id))];
    const found = await Promise.all(ids.map((id) => this.release(id, tx)));
    return found.filter((r): r is Release => r !== null && !isTerminal(r.phase));
  }

  /** Releases with a wake-up due before `until` (ms). */
  async wakesDue(until: number): Promise<Release[]> {
    const q = await this.db.collection(collections.releases).where('wake.at', '<=', until).get();
    return q.docs.map((d) => d.data() as Release);
  }

  /** Workloads whose old revisions wait to be cleaned up. */
  async workloadsToClean(): Promise<Workload[]> {
    const q = await this.db.collection(collections.workloads).where('gcPending', '==', true).get();
    return q.docs.map((d) => ({ ...emptyWorkload(d.id), ...(d.data() as Workload) }));
  }

  /** A target's releases, newest first. */
  async releasesOf(target: string, limit = 50): Promise<Release[]> {
    const q = await this.db
      .collection(collections.releases)
      .where('target', '==', target)
      .orderBy('number', 'desc')
      .limit(limit)
      .get();
    return q.docs.map((d) => d.data() as Release);
  }

  async allReleases(limit = 200): Promise<Release[]> {
    const q = await this.db.collection(collections.releases).orderBy('createdAt', 'desc').limit(limit).get();
    return q.docs.map((d) => d.data() as Release);
  }

  async pushRecords(limit = 100): Promise<PushRecord[]> {
    const q = await this.db.collection(collections.pushes).orderBy('receivedAt', 'desc').limit(limit).get();
    return q.docs.map((d) => d.data() as PushRecord);
  }
}

/** A stored target document as the engine reads it. */
export function toEngineTarget(name: string, data: DocumentData): EngineTarget {
  return {
    name,
    generation: (data.generation as number | undefined) ?? 1,
    spec: data.spec as EngineTarget['spec'],
  };
}
