// `switchyard apply -f` as a control message (issue 11): people need only read access to
// Firestore, and every stored target and template says which verified identity stored it. The
// documents are validated again here with the CLI's own schema (the sender is never trusted), their
// analysis references checked, and each document authorized: changing a stored target takes
// `apply` granted by the rules that apply to it AS STORED (its spec.access and the policy rules
// that select its stored labels), so nobody takes a target over by rewriting its access; creating
// a target, or applying a template, takes an operator (or a policy rule: authorizeCreate,
// authorizeTemplate). Then everything is stored in one transaction (TargetStore.apply) or nothing
// is, and the answer is recorded under the request id: a redelivered apply is answered from the
// record, not applied again. It comes through the control function (control.ts).
import type { DocumentReference } from '@google-cloud/firestore';
import { type AppliedDocument, type RequestRecord, recordExpiry } from '../adapters/store.ts';
import { authorizeCreate, authorizeTemplate, type Decision, type Identity } from '../identity/access.ts';
import type { Logger } from '../log.ts';
import { applyMessage, describeIssues } from '../messages.ts';
import type { RefusalCode } from '../refusals.ts';
import { checkDependencies } from '../target/dependencies.ts';
import { validateDocuments } from '../target/documents.ts';
import type { TargetError } from '../target/problems.ts';
import { checkTemplateReferences } from '../target/references.ts';
import { MissingTemplatesError, TargetStore } from '../target/store.ts';
import type { ParsedFile } from '../target/validate.ts';
import { type ControlResult, refuseUnverified } from './answers.ts';
import type { Deps } from './deps.ts';
import { authorizeStored, installationOf } from './stored-access.ts';

/** True for a message that asks for an apply (it is read by applyMessage, not controlMessage). */
export function isApply(data: unknown): boolean {
  return typeof data === 'object' && data !== null && (data as { command?: unknown }).command === 'apply';
}

/** An apply message: verifies who sent it, answers a redelivery from its record, else applies its documents. */
export async function runApply(d: Deps, data: unknown): Promise<ControlResult> {
  const parsed = applyMessage.safeParse(data);
  if (!parsed.success) {
    const reason = `malformed apply message: ${describeIssues(parsed.error)}`;
    d.log.warn(reason, { message: summarized(data) });
    return refuseUnverified(d, data, 'malformed', reason);
  }
  const { idToken, requestedBy: claimed, documents, source } = parsed.data;
  const id = parsed.data.requestId;
  const log = d.log.with({ requestId: id, command: 'apply', ...(source ? { source } : {}) });
  if (!idToken) {
    log.warn('apply refused: no ID token', { claimedBy: claimed });
    return refuseUnverified(
      d,
      data,
      'unauthenticated',
      'apply: not signed in: the message carries no ID token (idToken); `switchyard` sends one from Application Default Credentials',
    );
  }
  const verified = await d.identity.verify(idToken);
  if (!verified.ok) {
    log.warn(`apply refused: ${verified.reason}`, { claimedBy: claimed });
    return refuseUnverified(d, data, 'unauthenticated', `apply: ${verified.reason}`);
  }
  const who = verified.identity;
  const ref = d.store.requestRef(id);
  const seen = await ref.get();
  if (seen.exists) {
    log.info('apply already answered (a redelivery): not applied again');
    return seen.data() as ControlResult;
  }
  const targets = new TargetStore(d.db);
  const answer = answerer(d, ref, { requestId: id, now: d.now(), who, log });
  return applyDocuments(d, targets, documents, who, answer);
}

/** Records an answer for the names of the documents it concerns; returns what is recorded. */
type Answer = (
  r: Pick<RequestRecord, 'outcome' | 'code' | 'reason' | 'documents' | 'errors'>,
  documentNames: readonly string[],
) => Promise<ControlResult>;

/** Records the answer unless one is recorded already (a concurrent delivery); returns what is recorded. */
function answerer(
  d: Deps,
  ref: DocumentReference,
  at: { requestId: string; now: number; who: Identity; log: Logger },
): Answer {
  const { requestId: id, now, who, log } = at;
  return async (r, documentNames) => {
    const doc: RequestRecord = {
      requestId: id,
      receivedAt: now,
      expireAt: recordExpiry(now),
      command: 'apply',
      target: documentNames.join(', ').slice(0, 200),
      requestedBy: who.email,
      releaseId: null,
      ...r,
    };
    const answer = await d.store.transaction(async (tx) => {
      const again = await tx.get(ref);
      if (again.exists) return again.data() as RequestRecord;
      tx.set(ref, doc);
      return doc;
    });
    log.info(`apply ${answer.outcome}${answer.reason ? `: ${answer.reason}` : ''}`, {
      requestedBy: who.email,
    });
    return answer;
  };
}

/** Validates, checks references and authorizes the documents, then stores them all or none. */
async function applyDocuments(
  d: Deps,
  targets: TargetStore,
  documents: readonly unknown[],
  who: Identity,
  answer: Answer,
): Promise<ControlResult> {
  let names: string[] = [];
  const refuse = (code: RefusalCode, reason: string, errors: TargetError[]) =>
    answer({ outcome: 'refused', code, reason, errors: errors.slice(0, maxListedErrors) }, names);
  const valid = validateDocuments(documents);
  if ('errors' in valid) {
    return refuse(
      'invalid',
      `apply: ${plural(valid.errors.length, 'problem')} in the documents; nothing was applied: ${summary(valid.errors)}`,
      valid.errors,
    );
  }
  names = [...valid.templates.map((t) => t.name), ...valid.targets.map((t) => t.metadata.name)];
  const unresolved = await unresolvedReferences(targets, valid);
  if (unresolved.length > 0) {
    return refuse(
      'invalid',
      `apply: ${plural(unresolved.length, 'analysis reference')} to no template; nothing was applied: ${summary(unresolved)}`,
      unresolved,
    );
  }
  const trains = await dependencyProblems(targets, valid);
  if (trains.length > 0) {
    return refuse(
      'invalid',
      `apply: ${plural(trains.length, 'problem')} with spec.dependsOn; nothing was applied: ${summary(trains)}`,
      trains,
    );
  }
  const refusals = await refusalsOf(d, valid, documents, who);
  if (refusals.length > 0) {
    return refuse(
      'forbidden',
      refusals.length === 1
        ? `${refusals[0]!.path}: ${refusals[0]!.message}; nothing was applied`
        : `apply: ${refusals.length} documents may not be applied by ${who.email}; nothing was applied: ${summary(refusals)}`,
      refusals,
    );
  }
  const stored = await storeDocuments(targets, valid, who);
  if ('code' in stored) return refuse(stored.code, stored.reason, []);
  return answer({ outcome: 'applied', reason: null, documents: stored }, names);
}

/**
 * The analysis references to no template. Those the documents resolve themselves need no read;
 * otherwise the stored templates' names are read once.
 */
async function unresolvedReferences(targets: TargetStore, valid: ParsedFile): Promise<TargetError[]> {
  const local = checkTemplateReferences(valid.targets, valid.templates, new Set());
  if (local.length === 0) return [];
  return checkTemplateReferences(valid.targets, valid.templates, new Set(await targets.templateNames()));
}

/** Unknown targets and cycles in spec.dependsOn, over the stored targets' graph (read only when a target names one). */
async function dependencyProblems(targets: TargetStore, valid: ParsedFile): Promise<TargetError[]> {
  if (!valid.targets.some((t) => (t.spec.dependsOn ?? []).length > 0)) return [];
  const { targets: stored } = await targets.list();
  const graph = new Map(stored.map((s) => [s.target.metadata.name, s.target.spec.dependsOn ?? []]));
  return checkDependencies(valid.targets, graph);
}

/** The documents `who` may not apply, in file order: who may apply each is decided from the targets as stored now. */
async function refusalsOf(
  d: Deps,
  valid: ParsedFile,
  documents: readonly unknown[],
  who: Identity,
): Promise<TargetError[]> {
  const installation = installationOf(d);
  const stored = await Promise.all(
    valid.targets.map(async (t) => {
      const snap = await d.store.targetRef(t.metadata.name).get();
      return snap.exists ? (snap.data() ?? {}) : null;
    }),
  );
  const refusals: TargetError[] = [];
  const indexOf = documentIndexes(documents);
  valid.templates.forEach((t) => {
    const decision = authorizeTemplate(t.name, installation, who);
    if (!decision.allowed) refusals.push(refusal(indexOf('AnalysisTemplate', t.name), decision));
  });
  valid.targets.forEach((t, i) => {
    const before = stored[i];
    const decision = before
      ? authorizeStored(t.metadata.name, before, installation, who)
      : authorizeCreate({ name: t.metadata.name, labels: t.metadata.labels }, installation, who);
    if (!decision.allowed) refusals.push(refusal(indexOf('ReleaseTarget', t.metadata.name), decision));
  });
  return refusals.sort((a, b) => a.document - b.document);
}

/**
 * Stores every document in one transaction (TargetStore.apply): the rows applied, or the reason
 * when it is refused in a way retrying cannot help. Anything else is thrown (delivered again).
 */
async function storeDocuments(
  targets: TargetStore,
  valid: ParsedFile,
  who: Identity,
): Promise<AppliedDocument[] | { code: RefusalCode; reason: string }> {
  let applied: Awaited<ReturnType<TargetStore['apply']>>;
  try {
    applied = await targets.apply(valid.targets, who.email, valid.templates);
  } catch (err) {
    if (err instanceof MissingTemplatesError) return { code: 'invalid', reason: `apply: ${err.message}` };
    // Firestore's INVALID_ARGUMENT (a document over 1 MiB, a transaction too large): retrying
    // cannot help, so it is an answer. Anything else (unavailable, contention) is delivered again.
    if ((err as { code?: unknown }).code === 3) {
      return {
        code: 'store-refused',
        reason: `apply: Firestore refused the documents: ${(err as Error).message}; nothing was applied`,
      };
    }
    throw err;
  }
  return [
    ...applied.templates.map((r) => ({ kind: 'AnalysisTemplate' as const, ...r })),
    ...applied.targets.map((r) => ({ kind: 'ReleaseTarget' as const, ...r })),
  ];
}

/** The most problems an answer lists (it is one Firestore document); the reason counts them all. */
const maxListedErrors = 100;

function plural(n: number, word: string): string {
  return `${n} ${word}${n === 1 ? '' : 's'}`;
}

/** The first problems as one line, for the answer's reason. */
function summary(errors: readonly TargetError[]): string {
  const shown = errors.slice(0, 3).map((e) => `${e.path || '(documents)'}: ${e.message}`);
  return `${shown.join('; ')}${errors.length > 3 ? `; and ${errors.length - 3} more` : ''}`;
}

/** A refused document as a problem of the file. */
function refusal(index: number, decision: Extract<Decision, { allowed: false }>): TargetError {
  return { document: index, path: `documents[${index}]`, message: decision.reason };
}

/** The index in the file of the document of `kind` named `name` (names are unique per kind). */
function documentIndexes(documents: readonly unknown[]): (kind: string, name: string) => number {
  return (kind, name) =>
    Math.max(
      0,
      documents.findIndex((doc) => {
        const d = doc as { kind?: unknown; metadata?: { name?: unknown } } | null;
        return d?.kind === kind && d.metadata?.name === name;
      }),
    );
}

/** An apply message as logged: its size and documents' names, never its token or whole documents. */
function summarized(data: unknown): unknown {
  if (!data || typeof data !== 'object' || Array.isArray(data)) return data;
  const { idToken, documents, ...rest } = data as Record<string, unknown>;
  return {
    ...rest,
    ...(idToken === undefined ? {} : { idToken: '[redacted]' }),
    ...(Array.isArray(documents) ? { documents: `[${documents.length} documents]` } : {}),
  };
}
