// ReleaseTargets in Firestore: collection `targets`, one document per target, id = metadata.name;
// named analysis templates (SPEC §7) in collection `analysisTemplates`, id = the template's name.
// What a document holds, and how it is validated again when read, is stored.ts.
import {
  type DocumentReference,
  type DocumentSnapshot,
  FieldValue,
  type Firestore,
  type QuerySnapshot,
  type Transaction,
} from '@google-cloud/firestore';
import { collections } from '../adapters/collections.ts';
import { referencedTemplateNames } from '../analysis/named.ts';
import type { AnalysisTemplate } from '../analysis/schema.ts';
import { apiVersion, type ReleaseTarget } from './schema.ts';
import {
  type InvalidStoredTarget,
  InvalidStoredTargetError,
  InvalidStoredTemplateError,
  readTarget,
  readTemplate,
  type StoredTarget,
  type StoredTemplate,
  type TargetDocument,
  type TemplateDocument,
} from './stored.ts';

/** What `apply` did to one target. */
export type ApplyResult = 'created' | 'configured' | 'unchanged';

/** What `apply` did to one target or template. */
export interface ApplyOutcome {
  name: string;
  result: ApplyResult;
  generation: number;
}

/**
 * Raised by `apply` when a target references a stored template that is not there (any more): the
 * caller checks references before applying, so this only happens when one was deleted meanwhile.
 * Nothing was stored.
 */
export class MissingTemplatesError extends Error {
  readonly kind = 'missing-templates';
  readonly names: string[];
  constructor(names: string[]) {
    super(
      `analysis template${names.length === 1 ? '' : 's'} ${names.map((n) => `"${n}"`).join(', ')} ` +
        'referenced by the file no longer stored; nothing was applied: apply the template first',
    );
    this.names = names;
  }
}

// Firestore keeps a transaction to 500 writes; a file larger than that cannot be all-or-nothing.
const maxDocumentsPerApply = 500;

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

/** Refuses what cannot be applied as one file: names used twice, more documents than one transaction takes. */
function checkApplicable(targets: readonly ReleaseTarget[], templates: readonly AnalysisTemplate[]): void {
  const names = targets.map((t) => t.metadata.name);
  if (new Set(names).size !== names.length) throw new Error('apply: target names must be unique');
  const templateNames = templates.map((t) => t.name);
  if (new Set(templateNames).size !== templateNames.length)
    throw new Error('apply: analysis template names must be unique');
  if (targets.length + templates.length > maxDocumentsPerApply) {
    throw new Error(
      `apply: ${targets.length + templates.length} documents in one file; at most ${maxDocumentsPerApply} can be applied at once: split the file`,
    );
  }
}

/** The stored templates the targets reference: neither inline nor among the file's `templates`. */
function storedTemplateNames(
  targets: readonly ReleaseTarget[],
  templates: readonly AnalysisTemplate[],
): string[] {
  const inFile = new Set(templates.map((t) => t.name));
  return [
    ...new Set(
      targets.flatMap((t) => {
        const inline = new Set((t.spec.analysis?.templates ?? []).map((x) => x.name));
        return referencedTemplateNames(t).filter((n) => !inline.has(n) && !inFile.has(n));
      }),
    ),
  ];
}

/** Writes `template` in `tx` unless the stored one (`snap`) equals it; what that did. */
function applyTemplate(
  tx: Transaction,
  ref: DocumentReference,
  snap: DocumentSnapshot,
  template: AnalysisTemplate,
  appliedBy: string,
): ApplyOutcome {
  const before = snap.exists ? (snap.data() as Partial<TemplateDocument>) : undefined;
  const storedGeneration = typeof before?.generation === 'number' ? before.generation : 0;
  const { name, ...spec } = template;
  const specChanged = canonical(before?.spec) !== canonical(spec);
  if (before && !specChanged && before.apiVersion === apiVersion) {
    return { name, result: 'unchanged', generation: storedGeneration };
  }
  const generation = specChanged ? storedGeneration + 1 : storedGeneration;
  const doc: TemplateDocument = {
    apiVersion,
    spec: plain(spec),
    generation,
    appliedAt: FieldValue.serverTimestamp(),
    appliedBy,
  };
  tx.set(ref, doc);
  return { name, result: before ? 'configured' : 'created', generation };
}

/** Writes `target` in `tx` unless the stored one (`snap`) equals it; what that did. */
function applyTarget(
  tx: Transaction,
  ref: DocumentReference,
  snap: DocumentSnapshot,
  target: ReleaseTarget,
  appliedBy: string,
): ApplyOutcome {
  const before = snap.exists ? (snap.data() as Partial<TargetDocument>) : undefined;
  const storedGeneration = typeof before?.generation === 'number' ? before.generation : 0;
  const specChanged = canonical(before?.spec) !== canonical(target.spec);
  const metadataChanged = canonical(before?.metadata) !== canonical(target.metadata);
  const versionChanged = before?.apiVersion !== apiVersion;
  if (before && !specChanged && !metadataChanged && !versionChanged) {
    return { name: target.metadata.name, result: 'unchanged', generation: storedGeneration };
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
  return { name: target.metadata.name, result: before ? 'configured' : 'created', generation };
}

/** Reads and writes ReleaseTargets in Firestore. */
export class TargetStore {
  readonly #db: Firestore;

  constructor(db: Firestore) {
    this.#db = db;
  }

  #collection() {
    return this.#db.collection(collections.targets);
  }

  #templates() {
    return this.#db.collection(collections.analysisTemplates);
  }

  /**
   * Stores every target and named analysis template of one file in ONE transaction: all are
   * written or none is. A target or template equal to the stored one is not written at all
   * ("unchanged": generation, appliedAt and appliedBy stay); a changed spec increments the
   * generation ("configured"); a changed target metadata alone is "configured" with the same
   * generation. Idempotent. Targets and templates must come from `parseReleaseTargets` (valid,
   * unique names) and their references must have been checked with `checkTemplateReferences`;
   * as a guard against a template deleted since, the stored templates the targets reference are
   * read in the transaction too, and MissingTemplatesError is raised (nothing written) when one is
   * gone. Returns one result per target and per template, in the order given.
   */
  async apply(
    targets: readonly ReleaseTarget[],
    appliedBy: string,
    templates: readonly AnalysisTemplate[] = [],
  ): Promise<{ targets: ApplyOutcome[]; templates: ApplyOutcome[] }> {
    checkApplicable(targets, templates);
    if (targets.length + templates.length === 0) return { targets: [], templates: [] };
    const targetRefs = targets.map((t) => this.#collection().doc(t.metadata.name));
    const templateRefs = templates.map((t) => this.#templates().doc(t.name));
    const storedRefs = storedTemplateNames(targets, templates).map((n) => this.#templates().doc(n));
    return this.#db.runTransaction(async (tx) => {
      // Results are computed inside the callback: a retried transaction recomputes them from what
      // it read on that attempt. Firestore wants every read of a transaction before its writes.
      const snapshots = await tx.getAll(...targetRefs, ...templateRefs, ...storedRefs);
      const targetSnaps = snapshots.slice(0, targetRefs.length);
      const templateSnaps = snapshots.slice(targetRefs.length, targetRefs.length + templateRefs.length);
      const gone = snapshots.slice(targetRefs.length + templateRefs.length).filter((snap) => !snap.exists);
      if (gone.length > 0) throw new MissingTemplatesError(gone.map((snap) => snap.id));
      const templateResults = templates.map((template, i) =>
        applyTemplate(tx, templateRefs[i]!, templateSnaps[i]!, template, appliedBy),
      );
      const targetResults = targets.map((target, i) =>
        applyTarget(tx, targetRefs[i]!, targetSnaps[i]!, target, appliedBy),
      );
      return { targets: targetResults, templates: templateResults };
    });
  }

  /**
   * The stored named templates among `names` (validated again), in the order of `names`; a name
   * with no stored template is left out, so the caller reports it as not found. Throws
   * InvalidStoredTemplateError (kind `invalid-stored-template`) when a stored one no longer passes
   * the schema: an analysis must not run a template Switchyard cannot vouch for. Fits
   * `withNamedTemplates` as its loader.
   */
  async templates(names: readonly string[]): Promise<AnalysisTemplate[]> {
    const unique = [...new Set(names)];
    if (unique.length === 0) return [];
    const snaps = await this.#db.getAll(...unique.map((n) => this.#templates().doc(n)));
    const out: AnalysisTemplate[] = [];
    for (const snap of snaps) {
      if (!snap.exists) continue;
      const read = readTemplate(snap.id, snap.data() ?? {});
      if ('errors' in read) throw new InvalidStoredTemplateError(read);
      out.push(read.template);
    }
    return out;
  }

  /**
   * Names of every stored named template (ids only: no document content is read), sorted. An
   * invalid stored template is listed too: it exists, and reading it reports what is wrong.
   */
  async templateNames(): Promise<string[]> {
    const query = await this.#templates().select().get();
    return query.docs.map((d) => d.id).sort();
  }

  /** Every stored named template, by name; invalid documents are listed apart. */
  async listTemplates(): Promise<{ templates: StoredTemplate[]; invalid: InvalidStoredTarget[] }> {
    const templates: StoredTemplate[] = [];
    const invalid: InvalidStoredTarget[] = [];
    for (const snap of (await this.#templates().get()).docs) {
      const read = readTemplate(snap.id, snap.data());
      if ('errors' in read) invalid.push(read);
      else templates.push(read);
    }
    templates.sort((a, b) => a.template.name.localeCompare(b.template.name));
    return { templates, invalid };
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
