// Where releases live in Firestore:
//   targets/<name>          ReleaseTarget documents (written by `switchyard apply`)
//   workloads/<target>      what the engine knows of a target's workload across releases
//   releases/<id>           one release: its state machine, revisions and history
//   pushes/<messageId>:<t>  what each image push meant for each target (released or ignored, and why)
//   requests/<requestId>    the answer to each control message (applied or refused, and why)
//   notifications/<eventId>:<notifier>  each release event's delivery to each notifier
//   slackThreads/<digest>   the Slack thread of a release train (or release) in a channel: its ts
// Pushes, requests, notifications and Slack threads carry `expireAt`: Firestore's TTL policy
// (infra/terraform) deletes them after it.
import type {
  DocumentData,
  DocumentReference,
  DocumentSnapshot,
  Firestore,
  Query,
  QuerySnapshot,
  Timestamp,
  Transaction,
} from '@google-cloud/firestore';
import { isTerminal } from '../engine/phase.ts';
import { emptyWorkload, type Release, type Workload } from '../engine/release.ts';
import type { EngineTarget } from '../engine/target.ts';
import type { RefusalCode } from '../refusals.ts';
import { count } from '../runtime/metrics.ts';
import type { TargetError } from '../target/problems.ts';
import type { ApplyOutcome } from '../target/store.ts';
import { collections } from './collections.ts';

/** How long push and request records are kept before Firestore's TTL deletes them. */
export const recordRetentionMs = 30 * 24 * 60 * 60 * 1000;

/** When a record made at `now` (ms) expires: a Date, which Firestore stores as the Timestamp TTL needs. */
export function recordExpiry(now: number): Date {
  return new Date(now + recordRetentionMs);
}

export interface PushRecord {
  messageId: string;
  receivedAt: number;
  /** Deleted by TTL after this (a Timestamp when read back). */
  expireAt: Date | Timestamp;
  message: unknown;
  target: string | null;
  outcome: 'released' | 'ignored';
  reason: string | null;
  releaseId: string | null;
}

export interface RequestRecord {
  requestId: string;
  receivedAt: number;
  /** Deleted by TTL after this (a Timestamp when read back). */
  expireAt: Date | Timestamp;
  command: string;
  target: string;
  /** The verified email of who asked; null when the sender could not be verified. */
  requestedBy: string | null;
  /** Who an unverified sender said it was (never trusted; kept for whoever investigates). */
  claimedBy?: string;
  outcome: 'applied' | 'refused';
  /** Why it was refused, as a code (shared/refusals.ts): what callers decide by. Absent when applied. */
  code?: RefusalCode;
  reason: string | null;
  releaseId: string | null;
  /** apply, when applied: what happened to each document, named templates first, then targets. */
  documents?: AppliedDocument[];
  /**
   * apply, when refused: each document refused and why (`documents[i]…`, its index in the file),
   * whether it did not validate, named a missing template or may not be applied by who asked.
   */
  errors?: TargetError[];
}

/** One document of an applied file, as the answer to the apply lists it. */
export interface AppliedDocument extends ApplyOutcome {
  kind: 'AnalysisTemplate' | 'ReleaseTarget';
}

/**
 * A transaction whose reads and writes are counted (for the invocation's cost line). Same contract
 * as Firestore's Transaction: all reads before any write.
 */
export interface Tx {
  get(ref: DocumentReference): Promise<DocumentSnapshot>;
  set(ref: DocumentReference, data: object): void;
  create(ref: DocumentReference, data: object): void;
  update(ref: DocumentReference, data: Record<string, unknown>): void;
}

function counted(tx: Transaction): Tx {
  return {
    get: (ref) => {
      count('firestoreReads');
      return tx.get(ref);
    },
    set: (ref, data) => {
      count('firestoreWrites');
      tx.set(ref, data as DocumentData);
    },
    create: (ref, data) => {
      count('firestoreWrites');
      tx.create(ref, data as DocumentData);
    },
    update: (ref, data) => {
      count('firestoreWrites');
      tx.update(ref, data);
    },
  };
}

/** Typed access to Switchyard's documents; every method is a plain read or write, no logic. */
export class Store {
  readonly db: Firestore;
  constructor(db: Firestore) {
    this.db = db;
  }

  /** Runs `fn` in a Firestore transaction (retried on contention) with counted reads and writes. */
  transaction<T>(fn: (tx: Tx) => Promise<T>): Promise<T> {
    return this.db.runTransaction((tx) => fn(counted(tx)));
  }

  /** A plain (non-transactional) write, counted. */
  async put(ref: DocumentReference, data: object): Promise<void> {
    count('firestoreWrites');
    await ref.set(data as DocumentData);
  }

  private async read(ref: DocumentReference, tx?: Tx) {
    if (tx) return tx.get(ref);
    count('firestoreReads');
    return ref.get();
  }

  private async query(q: Query): Promise<QuerySnapshot> {
    const snap = await q.get();
    // Firestore bills a query as one read per document returned, and one when none is.
    count('firestoreReads', Math.max(1, snap.size));
    return snap;
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
  notificationRef(eventId: string, notifier: string): DocumentReference {
    return this.db.collection(collections.notifications).doc(`${eventId}:${notifier}`);
  }
  /** `id`: shared/notify/slack-thread.ts's threadRecordId of channel and thread key. */
  slackThreadRef(id: string): DocumentReference {
    return this.db.collection(collections.slackThreads).doc(id);
  }

  async target(name: string, tx?: Tx): Promise<EngineTarget | null> {
    const snap = await this.read(this.targetRef(name), tx);
    return snap.exists ? toEngineTarget(snap.id, snap.data()!) : null;
  }

  async targetsForRepository(repository: string): Promise<EngineTarget[]> {
    const q = await this.query(
      this.db.collection(collections.targets).where('spec.image.repository', '==', repository),
    );
    return q.docs.map((d) => toEngineTarget(d.id, d.data()));
  }

  /** Release trains: the targets whose spec.dependsOn names `name`. */
  async dependentsOf(name: string): Promise<EngineTarget[]> {
    const q = await this.query(
      this.db.collection(collections.targets).where('spec.dependsOn', 'array-contains', name),
    );
    return q.docs.map((d) => toEngineTarget(d.id, d.data()));
  }

  async release(id: string, tx?: Tx): Promise<Release | null> {
    const snap = await this.read(this.releaseRef(id), tx);
    return snap.exists ? (snap.data() as Release) : null;
  }

  async workload(target: string, tx?: Tx): Promise<Workload> {
    const snap = await this.read(this.workloadRef(target), tx);
    return snap.exists ? { ...emptyWorkload(target), ...(snap.data() as Workload) } : emptyWorkload(target);
  }

  /** The releases of a workload that are in flight or queued. */
  async liveReleases(workload: Workload, tx: Tx): Promise<Release[]> {
    const ids = [...new Set([workload.inFlight, workload.queued].filter((id): id is string => !!id))];
    const found = await Promise.all(ids.map((id) => this.release(id, tx)));
    return found.filter((r): r is Release => r !== null && !isTerminal(r.phase));
  }

  /** Releases with a wake-up due before `until` (ms). */
  async wakesDue(until: number): Promise<Release[]> {
    const q = await this.query(this.db.collection(collections.releases).where('wake.at', '<=', until));
    return q.docs.map((d) => d.data() as Release);
  }

  /** Releases with history entries not yet published as events. */
  async releasesWithPendingEvents(limit = 100): Promise<Release[]> {
    const q = await this.query(
      this.db.collection(collections.releases).where('eventsPending', '==', true).limit(limit),
    );
    return q.docs.map((d) => d.data() as Release);
  }

  /** Workloads whose old revisions wait to be cleaned up. */
  async workloadsToClean(): Promise<Workload[]> {
    const q = await this.query(this.db.collection(collections.workloads).where('gcPending', '==', true));
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

/**
 * A release as it is written: marked while history entries wait to be published as events, so the
 * sweep finds a release whose function died between its commit and its publish.
 */
export function marked(release: Release): Release {
  return { ...release, eventsPending: release.history.length > (release.announced ?? 0) };
}
