// ReleaseTargets in Firestore: collection `targets`, one document per target, id = metadata.name.
// A stored document is validated again when it is read: a document written by an older version,
// or edited by hand, is reported as invalid and never acted on.
import {
  type DocumentData,
  FieldValue,
  type Firestore,
  type QuerySnapshot,
  type Timestamp,
} from '@google-cloud/firestore';
import { apiVersion, kind, type ReleaseTarget, type TargetError, validateReleaseTarget } from './schema.ts';

export const targetsCollection = 'targets';

/** What `apply` did to one target. */
export type ApplyResult = 'created' | 'configured' | 'unchanged';

/** A target as stored, with who stored it and when. */
export interface StoredTarget {
  target: ReleaseTarget;
  /** Starts at 1 and increments each time the spec changes (a metadata-only change keeps it). */
  generation: number;
  appliedAt: Date;
  appliedBy: string;
}

/** A stored document that no longer passes the schema; it is reported, not used. */
export interface InvalidStoredTarget {
  /** The Firestore document id. */
  name: string;
  errors: TargetError[];
}

/** Raised by `get` for a stored target that no longer passes the schema. Retrying cannot help. */
export class InvalidStoredTargetError extends Error {
  readonly kind = 'invalid-stored-target';
  readonly errors: TargetError[];
  constructor(invalid: InvalidStoredTarget) {
    super(
      `stored target "${invalid.name}" is invalid (${invalid.errors.map((e) => `${e.path}: ${e.message}`).join('; ')}): ` +
        'apply its file again with `switchyard apply -f`',
    );
    this.errors = invalid.errors;
  }
}

/** The Firestore document of a target (`appliedAt` is a server timestamp). */
interface TargetDocument {
  apiVersion: string;
  metadata: ReleaseTarget['metadata'];
  spec: ReleaseTarget['spec'];
  generation: number;
  appliedAt: Timestamp | FieldValue;
  appliedBy: string;
}

// Firestore keeps a transaction to 500 writes; a file larger than that cannot be all-or-nothing.
const maxTargetsPerApply = 500;

/** Plain JSON data with object keys sorted, so that equal values compare equal as strings. */
function canonical(value: unknown): string {
  return JSON.stringify(value, (_key, v: unknown) =>
    v && typeof v === 'object' && !Array.isArray(v)
      ? Object.fromEntries(
          Object.entries(v as Record<string, unknown>).sort(([a], [b]) => a.localeCompare(b)),
        )
      : v,
  );
}

/** A deep copy without `undefined` fields (Firestore refuses them unless told to ignore them). */
function plain<T>(value: T): T {
  return JSON.parse(JSON.stringify(value)) as T;
}

/** Reads and writes ReleaseTargets in Firestore. */
export class TargetStore {
  readonly #db: Firestore;

  constructor(db: Firestore) {
    this.#db = db;
  }

  #collection() {
    return this.#db.collection(targetsCollection);
  }

  /**
   * Stores every target of one file in ONE transaction: all are written or none is. A target whose
   * spec and metadata equal the stored ones is not written at all ("unchanged": generation,
   * appliedAt and appliedBy stay); a changed spec increments the generation ("configured"); a
   * changed metadata alone is "configured" with the same generation. Idempotent. The targets must
   * come from `parseReleaseTargets` (valid, unique names). Returns one result per target, in order.
   */
  async apply(
    targets: readonly ReleaseTarget[],
    appliedBy: string,
  ): Promise<{ name: string; result: ApplyResult; generation: number }[]> {
    const names = targets.map((t) => t.metadata.name);
    if (new Set(names).size !== names.length) throw new Error('apply: target names must be unique');
    if (targets.length > maxTargetsPerApply) {
      throw new Error(
        `apply: ${targets.length} targets in one file; at most ${maxTargetsPerApply} can be applied at once: split the file`,
      );
    }
    if (targets.length === 0) return [];
    const refs = targets.map((t) => this.#collection().doc(t.metadata.name));
    return this.#db.runTransaction(async (tx) => {
      // Results are computed inside the callback: a retried transaction recomputes them from what
      // it read on that attempt.
      const snapshots = await tx.getAll(...refs);
      return targets.map((target, i) => {
        const ref = refs[i]!;
        const snap = snapshots[i]!;
        const before = snap.exists ? (snap.data() as Partial<TargetDocument>) : undefined;
        const storedGeneration = typeof before?.generation === 'number' ? before.generation : 0;
        const specChanged = canonical(before?.spec) !== canonical(target.spec);
        const metadataChanged = canonical(before?.metadata) !== canonical(target.metadata);
        const versionChanged = before?.apiVersion !== apiVersion;
        if (before && !specChanged && !metadataChanged && !versionChanged) {
          return { name: target.metadata.name, result: 'unchanged' as const, generation: storedGeneration };
        }
        const generation = specChanged ? storedGeneration + 1 : storedGeneration;
        const doc: TargetDocument = {
          apiVersion,
          metadata: plain(target.metadata),
          spec: plain(target.spec),
          generation,
          appliedAt: FieldValue.serverTimestamp(),
          appliedBy,
        };
        tx.set(ref, doc);
        return {
          name: target.metadata.name,
          result: before ? ('configured' as const) : ('created' as const),
          generation,
        };
      });
    });
  }

  /**
   * The stored target named `name`, or null when there is none. Throws InvalidStoredTargetError
   * (kind `invalid-stored-target`) when the stored document no longer passes the schema.
   */
  async get(name: string): Promise<StoredTarget | null> {
    const snap = await this.#collection().doc(name).get();
    if (!snap.exists) return null;
    const read = readTarget(snap.id, snap.data() ?? {});
    if ('errors' in read) throw new InvalidStoredTargetError(read);
    return read;
  }

  /** Every stored target, by name; invalid documents are listed apart and not returned as targets. */
  async list(): Promise<{ targets: StoredTarget[]; invalid: InvalidStoredTarget[] }> {
    // No orderBy: Firestore would leave out documents without the field, which are exactly the
    // broken ones this listing must report.
    return this.#read(await this.#collection().get());
  }

  /**
   * The targets whose `spec.image.repository` is exactly `repository` (a push of that repository
   * releases each of them); invalid documents are listed apart. An empty result means no target
   * names the repository.
   */
  async findByRepository(
    repository: string,
  ): Promise<{ targets: StoredTarget[]; invalid: InvalidStoredTarget[] }> {
    return this.#read(await this.#collection().where('spec.image.repository', '==', repository).get());
  }

  #read(query: QuerySnapshot): { targets: StoredTarget[]; invalid: InvalidStoredTarget[] } {
    const targets: StoredTarget[] = [];
    const invalid: InvalidStoredTarget[] = [];
    for (const snap of query.docs) {
      const read = readTarget(snap.id, snap.data());
      if ('errors' in read) invalid.push(read);
      else targets.push(read);
    }
    targets.sort((a, b) => a.target.metadata.name.localeCompare(b.target.metadata.name));
    return { targets, invalid };
  }
}

/** Validates a stored document against the schema and its own id. */
function readTarget(id: string, data: DocumentData): StoredTarget | InvalidStoredTarget {
  const result = validateReleaseTarget(
    { apiVersion: data.apiVersion, kind, metadata: data.metadata, spec: data.spec },
    null,
  );
  const errors: TargetError[] = 'errors' in result ? [...result.errors] : [];
  const bookkeeping = (field: string, ok: boolean) => {
    if (!ok) errors.push({ document: 0, path: field, message: 'missing or of the wrong type' });
  };
  bookkeeping('generation', Number.isInteger(data.generation) && data.generation >= 1);
  bookkeeping('appliedAt', typeof data.appliedAt?.toDate === 'function');
  bookkeeping('appliedBy', typeof data.appliedBy === 'string');
  if ('target' in result && result.target.metadata.name !== id) {
    errors.push({
      document: 0,
      path: 'metadata.name',
      message: `is "${result.target.metadata.name}" but the document id is "${id}"`,
    });
  }
  if (errors.length > 0 || !('target' in result)) return { name: id, errors };
  return {
    target: result.target,
    generation: data.generation as number,
    appliedAt: (data.appliedAt as Timestamp).toDate(),
    appliedBy: data.appliedBy as string,
  };
}
