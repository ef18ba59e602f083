// The Firestore documents of targets and named analysis templates (store.ts writes them): their
// shapes, and reading them back. A stored document is validated again when it is read: a document
// written by an older version, or edited by hand, is reported as invalid and never acted on.
import type { DocumentData, FieldValue, Timestamp } from '@google-cloud/firestore';
import type { AnalysisTemplate } from '../analysis/schema.ts';
import type { TargetError } from './problems.ts';
import { analysisTemplateKind, kind, type ReleaseTarget } from './schema.ts';
import { validateAnalysisTemplate, validateReleaseTarget } from './validate.ts';

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

/** Raised by `TargetStore.get` for a stored target that no longer passes the schema. Retrying cannot help. */
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

/** Raised by `TargetStore.templates` for a stored template that no longer passes the schema. */
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

/** The Firestore document of a target (`appliedAt` is a server timestamp). */
export interface TargetDocument {
  apiVersion: string;
  metadata: ReleaseTarget['metadata'];
  spec: ReleaseTarget['spec'];
  generation: number;
  appliedAt: Timestamp | FieldValue;
  appliedBy: string;
}

/** The Firestore document of a named template: its spec without the name, which is the id. */
export interface TemplateDocument {
  apiVersion: string;
  spec: Omit<AnalysisTemplate, 'name'>;
  generation: number;
  appliedAt: Timestamp | FieldValue;
  appliedBy: string;
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

/** Who applied a stored document, and when (checked by bookkeepingErrors first). */
function appliedOf(data: DocumentData): { generation: number; appliedAt: Date; appliedBy: string } {
  return {
    generation: data.generation as number,
    appliedAt: (data.appliedAt as Timestamp).toDate(),
    appliedBy: data.appliedBy as string,
  };
}

/** Validates a stored template document against the schema; its name is the document id. */
export function readTemplate(id: string, data: DocumentData): StoredTemplate | InvalidStoredTarget {
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
  return { template: result.template, ...appliedOf(data) };
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
  return { target: result.target, ...appliedOf(data) };
}
