// ReleaseTargets in Firestore: collection `targets`, one document per target, id = metadata.name;
// named analysis templates (SPEC §7) in collection `analysisTemplates`, id = the template's name.
// A stored document is validated again when it is read: a document written by an older version,
// or edited by hand, is reported as invalid and never acted on.
import {
  type DocumentData,
  FieldValue,
  type Firestore,
  type QuerySnapshot,
  type Timestamp,
} from '@google-cloud/firestore';
import { referencedTemplateNames } from '../analysis/named.ts';
import type { AnalysisTemplate } from '../analysis/schema.ts';
import {
  analysisTemplateKind,
  apiVersion,
  kind,
  type ReleaseTarget,
  type TargetError,
  validateAnalysisTemplate,
  validateReleaseTarget,
} from './schema.ts';

export const targetsCollection = 'targets';
export const analysisTemplatesCollection = 'analysisTemplates';

/** What `apply` did to one target. */
export type ApplyResult = 'created' | 'configured' | 'unchanged';

/** What `apply` did to one target or template. */
export interface ApplyOutcome {
  name: string;
  result: ApplyResult;
  generation: number;
}

/** A target as stored, with who stored it and when. */
export interface StoredTarget {
  target: ReleaseTarget;
  /** Starts at 1 and increments each time the spec changes (a metadata-only change keeps it). */
  generation: number;
  appliedAt: Date;
  appliedBy: string;
}

/** A named analysis template as stored, with who stored it and when. */
export interface StoredTemplate {
  template: AnalysisTemplate;
  /** Starts at 1 and increments each time the spec changes. */
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

/** Raised by `templates` for a stored template that no longer passes the schema. */
export class InvalidStoredTemplateError extends Error {
  readonly kind = 'invalid-stored-template';
  readonly errors: TargetError[];
  constructor(invalid: InvalidStoredTarget) {
    super(
      `stored analysis template "${invalid.name}" is invalid (${invalid.errors.map((e) => `${e.path}: ${e.message}`).join('; ')}): ` +
        'apply its file again with `switchyard apply -f`',
    );
    this.errors = invalid.errors;
  }
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

/** The Firestore document of a target (`appliedAt` is a server timestamp). */
interface TargetDocument {
  apiVersion: string;
  metadata: ReleaseTarget['metadata'];
  spec: ReleaseTarget['spec'];
  generation: number;
  appliedAt: Timestamp | FieldValue;
  appliedBy: string;
}

/** The Firestore document of a named template: its spec without the name, which is the id. */
interface TemplateDocument {
  apiVersion: string;
  spec: Omit<AnalysisTemplate, 'name'>;
  generation: number;
  appliedAt: Timestamp | FieldValue;
  appliedBy: string;
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

/** Reads and writes ReleaseTargets in Firestore. */
export class TargetStore {
  readonly #db: Firestore;

  constructor(db: Firestore) {
    this.#db = db;
  }

  #collection() {
    return this.#db.collection(targetsCollection);
  }

  #templates() {
    return this.#db.collection(analysisTemplatesCollection);
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
    if (targets.length + templates.length === 0) return { targets: [], templates: [] };
    const targetRefs = targets.map((t) => this.#collection().doc(t.metadata.name));
    const templateRefs = templates.map((t) => this.#templates().doc(t.name));
    const inFile = new Set(templateNames);
    const storedRefs = [
      ...new Set(
        targets.flatMap((t) => {
          const inline = new Set((t.spec.analysis?.templates ?? []).map((x) => x.name));
          return referencedTemplateNames(t).filter((n) => !inline.has(n) && !inFile.has(n));
        }),
      ),
    ].map((n) => this.#templates().doc(n));
    return this.#db.runTransaction(async (tx) => {
      // Results are computed inside the callback: a retried transaction recomputes them from what
      // it read on that attempt. Firestore wants every read of a transaction before its writes.
      const snapshots = await tx.getAll(...targetRefs, ...templateRefs, ...storedRefs);
      const targetSnaps = snapshots.slice(0, targetRefs.length);
      const templateSnaps = snapshots.slice(targetRefs.length, targetRefs.length + templateRefs.length);
      const gone = snapshots.slice(targetRefs.length + templateRefs.length).filter((snap) => !snap.exists);
      if (gone.length > 0) throw new MissingTemplatesError(gone.map((snap) => snap.id));

      const templateResults = templates.map((template, i): ApplyOutcome => {
        const snap = templateSnaps[i]!;
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
        tx.set(templateRefs[i]!, doc);
        return { name, result: before ? 'configured' : 'created', generation };
      });

      const targetResults = targets.map((target, i): ApplyOutcome => {
        const ref = targetRefs[i]!;
        const snap = targetSnaps[i]!;
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
      });
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

/**
 * A stored (parsed) template spec turned back into the form the schema reads: the parser turns a
 * metric's `provider: {prometheus: {...}}` into `{kind: 'prometheus', config: {...}}`, and the
 * schema would refuse that shape. Everything else of the parsed form (durations in seconds,
 * defaults filled in) parses to itself. Anything unexpected is passed on as it is, for the schema
 * to report.
 */
function asWritten(spec: unknown): unknown {
  if (!spec || typeof spec !== 'object' || !Array.isArray((spec as { metrics?: unknown }).metrics))
    return spec;
  const { metrics } = spec as { metrics: unknown[] };
  return {
    ...spec,
    metrics: metrics.map((m) => {
      const provider = (m as { provider?: unknown } | null)?.provider as { kind?: unknown; config?: unknown };
      if (
        !provider ||
        typeof provider.kind !== 'string' ||
        Object.keys(provider).length !== 2 ||
        !('config' in provider)
      )
        return m;
      return { ...(m as object), provider: { [provider.kind]: provider.config } };
    }),
  };
}

/** A stored target spec with its inline templates in the form the schema reads (see asWritten). */
function targetSpecAsWritten(spec: unknown): unknown {
  const analysis = (spec as { analysis?: { templates?: unknown } } | null)?.analysis;
  if (!analysis || !Array.isArray(analysis.templates)) return spec;
  return { ...(spec as object), analysis: { ...analysis, templates: analysis.templates.map(asWritten) } };
}

/** The problems of the bookkeeping fields apply writes beside a spec. */
function bookkeepingErrors(data: DocumentData): TargetError[] {
  const errors: TargetError[] = [];
  const bookkeeping = (field: string, ok: boolean) => {
    if (!ok) errors.push({ document: 0, path: field, message: 'missing or of the wrong type' });
  };
  bookkeeping('generation', Number.isInteger(data.generation) && data.generation >= 1);
  bookkeeping('appliedAt', typeof data.appliedAt?.toDate === 'function');
  bookkeeping('appliedBy', typeof data.appliedBy === 'string');
  return errors;
}

/** Validates a stored template document against the schema; its name is the document id. */
function readTemplate(id: string, data: DocumentData): StoredTemplate | InvalidStoredTarget {
  const result = validateAnalysisTemplate(
    {
      apiVersion: data.apiVersion,
      kind: analysisTemplateKind,
      metadata: { name: id },
      spec: asWritten(data.spec),
    },
    null,
  );
  const errors = [...('errors' in result ? result.errors : []), ...bookkeepingErrors(data)];
  if (errors.length > 0 || !('template' in result)) return { name: id, errors };
  return {
    template: result.template,
    generation: data.generation as number,
    appliedAt: (data.appliedAt as Timestamp).toDate(),
    appliedBy: data.appliedBy as string,
  };
}

/** Validates a stored document against the schema and its own id. */
export function readTarget(id: string, data: DocumentData): StoredTarget | InvalidStoredTarget {
  const result = validateReleaseTarget(
    { apiVersion: data.apiVersion, kind, metadata: data.metadata, spec: targetSpecAsWritten(data.spec) },
    null,
  );
  const errors: TargetError[] = [...('errors' in result ? result.errors : []), ...bookkeepingErrors(data)];
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
