// A control message (promote, abort, …) applied to its release in one transaction, with the answer
// recorded under its request id: a redelivered command is answered again, not applied twice.
// Who sent it is the verified email of its ID token, and the target's spec.access and the
// installation's access policy (else the installation's operators) say whether they may
// (shared/identity/). `apply` (switchyard apply -f) comes the same way: see runApply.
import type { DocumentData } from '@google-cloud/firestore';
import {
  type AppliedDocument,
  marked,
  type RequestRecord,
  recordExpiry,
  toEngineTarget,
} from '../adapters/store.ts';
import { decideControl } from '../engine/control.ts';
import type { Release } from '../engine/release.ts';
import {
  type Access,
  accessSchema,
  authorize,
  authorizeCreate,
  authorizeTemplate,
  type Decision,
  type Identity,
  type Installation,
} from '../identity/access.ts';
import { applyMessage, type ControlMessage, controlMessage, describeIssues, requestId } from '../messages.ts';
import { validateDocuments } from '../target/documents.ts';
import { checkTemplateReferences, type TargetError } from '../target/schema.ts';
import { MissingTemplatesError, TargetStore } from '../target/store.ts';
import { type Claimed, claimed as isClaimed, outsideClaims } from './claims.ts';
import type { Deps } from './deps.ts';
import { announce } from './events.ts';
import { noteRelease } from './metrics.ts';
import { dispatchWake, planWake } from './wake.ts';

export interface ControlResult {
  outcome: 'applied' | 'refused';
  reason: string | null;
  releaseId: string | null;
}

export async function runControl(d: Deps, data: unknown): Promise<ControlResult> {
  if (isApply(data)) return runApply(d, data);
  const parsed = controlMessage.safeParse(data);
  if (!parsed.success) {
    // Answered under its request id when it has a valid one (the CLI waits for that answer);
    // otherwise only logged. Retrying cannot help either way.
    const reason = `malformed control message: ${describeIssues(parsed.error)}`;
    d.log.warn(reason, { message: withoutToken(data) });
    return refuseUnverified(d, data, reason);
  }
  const { idToken, requestedBy: claimed, ...fields } = parsed.data;
  const verified = idToken
    ? await d.identity.verify(idToken)
    : ({
        ok: false,
        reason:
          'not signed in: the message carries no ID token (idToken); `switchyard` sends one from Application Default Credentials',
      } as const);
  if (!verified.ok) {
    d.log.warn(`${fields.command} refused: ${verified.reason}`, {
      target: fields.target,
      requestId: fields.requestId,
      claimedBy: claimed,
    });
    return refuseUnverified(d, data, `${fields.command}: ${verified.reason}`);
  }
  const identity = verified.identity;
  const msg: ControlMessage = { ...fields, requestedBy: identity.email };
  const log = d.log.with({ target: msg.target, requestId: msg.requestId, command: msg.command });
  const toWake: Release[] = [];
  const toAnnounce: Release[] = [];
  // A control command never overtakes a running step (claims.ts).
  const answer = await outsideClaims(d, msg.command, apply);
  log.info(`${msg.command} ${answer.outcome}${answer.reason ? `: ${answer.reason}` : ''}`, {
    releaseId: answer.releaseId ?? undefined,
  });
  noteRelease(answer.releaseId);
  await Promise.all([...toAnnounce, ...toWake].map((r) => announce(d, r)));
  await Promise.all(toWake.map((r) => dispatchWake(d, r)));
  return answer;

  function apply(): Promise<ControlResult | Claimed> {
    return d.store.transaction(async (tx): Promise<ControlResult | Claimed> => {
      toWake.length = 0;
      toAnnounce.length = 0;
      const ref = d.store.requestRef(msg.requestId);
      const seen = await tx.get(ref);
      if (seen.exists) return seen.data() as ControlResult;
      const now = d.now();
      const record = (r: ControlResult): ControlResult => {
        const doc: RequestRecord = {
          requestId: msg.requestId,
          receivedAt: now,
          expireAt: recordExpiry(now),
          command: msg.command,
          target: msg.target,
          requestedBy: msg.requestedBy,
          ...r,
        };
        tx.set(ref, doc);
        return r;
      };
      const targetSnap = await tx.get(d.store.targetRef(msg.target));
      const target = targetSnap.exists ? toEngineTarget(targetSnap.id, targetSnap.data()!) : null;
      if (!target) {
        return record({
          outcome: 'refused',
          reason: `${msg.command}: target ${msg.target} not found; \`switchyard targets\` lists the targets`,
          releaseId: null,
        });
      }
      const workload = await d.store.workload(msg.target, tx);
      const releaseId = msg.release ?? workload.inFlight ?? workload.queued ?? workload.lastRelease;
      const release = releaseId ? await d.store.release(releaseId, tx) : null;
      if (msg.release && (!release || release.target !== msg.target)) {
        return record({
          outcome: 'refused',
          reason: `${msg.command}: release ${msg.release} not found for target ${msg.target}`,
          releaseId: null,
        });
      }
      const live = await d.store.liveReleases(workload, tx);
      const busy = isClaimed([release, ...live], now);
      if (busy) return busy;
      const allowed = authorize(
        { name: target.name, labels: labelsOf(targetSnap.data()!), access: target.spec.access },
        installationOf(d),
        identity,
        msg.command,
      );
      const outcome = allowed.allowed
        ? decideControl(target, msg, release, workload, live, now)
        : { kind: 'refused' as const, reason: allowed.reason, release };
      if (outcome.kind === 'refused') {
        if (release) {
          // The refusal goes into the release's history too, so `switchyard history` shows it.
          const entry = {
            at: now,
            from: release.phase,
            to: release.phase,
            cause: msg.command,
            by: msg.requestedBy,
            reason: `refused: ${outcome.reason}`,
          };
          const history = [...release.history, entry];
          tx.update(d.store.releaseRef(release.id), { history, updatedAt: now, eventsPending: true });
          toAnnounce.push({ ...release, history, updatedAt: now });
        }
        return record({ outcome: 'refused', reason: outcome.reason, releaseId: release?.id ?? null });
      }
      const next = planWake(d, outcome.release);
      if (outcome.kind === 'started') {
        tx.create(d.store.releaseRef(next.id), marked(next));
        for (const old of outcome.superseded) {
          const planned = planWake(d, old);
          tx.set(d.store.releaseRef(old.id), marked(planned));
          toWake.push(planned);
        }
      } else {
        tx.set(d.store.releaseRef(next.id), marked(next));
      }
      tx.set(d.store.workloadRef(msg.target), outcome.workload);
      toWake.push(next);
      return record({ outcome: 'applied', reason: null, releaseId: next.id });
    });
  }
}

/** The message as logged: an ID token is a credential for an hour, never written to a log. */
function withoutToken(data: unknown): unknown {
  if (!data || typeof data !== 'object' || Array.isArray(data) || !('idToken' in data)) return data;
  return { ...(data as Record<string, unknown>), idToken: '[redacted]' };
}

/**
 * Answers a message whose sender is not known (malformed, or its ID token refused) under its
 * request id when it has a valid one (the CLI waits for that answer); otherwise it is only logged.
 * Retrying cannot help either way. Nothing else is written: an unknown sender changes no release.
 */
async function refuseUnverified(d: Deps, data: unknown, reason: string): Promise<ControlResult> {
  const result: ControlResult = { outcome: 'refused', reason, releaseId: null };
  const raw = (data ?? {}) as Record<string, unknown>;
  const id = requestId.safeParse(raw.requestId);
  if (!id.success) return result;
  const now = d.now();
  const text = (v: unknown) => (typeof v === 'string' ? v.slice(0, 200) : '');
  await d.store.transaction(async (tx) => {
    const ref = d.store.requestRef(id.data);
    if ((await tx.get(ref)).exists) return; // never overwrite the answer to a valid request
    const doc: RequestRecord = {
      requestId: id.data,
      receivedAt: now,
      expireAt: recordExpiry(now),
      command: text(raw.command) as RequestRecord['command'],
      target: text(raw.target),
      requestedBy: null,
      ...(text(raw.requestedBy) ? { claimedBy: text(raw.requestedBy) } : {}),
      ...result,
    };
    tx.set(ref, doc);
  });
  return result;
}

/** The installation's operators and access policy, as the functions were configured. */
function installationOf(d: Deps): Installation {
  return { operators: d.identity.operators, policy: d.identity.policy ?? [] };
}

/** A stored target's metadata.labels, as the policy's selectors match them (none when not a map of strings). */
function labelsOf(data: DocumentData): Record<string, string> {
  const labels = (data.metadata as { labels?: unknown } | undefined)?.labels;
  if (!labels || typeof labels !== 'object' || Array.isArray(labels)) return {};
  return Object.fromEntries(
    Object.entries(labels as Record<string, unknown>).filter(
      (e): e is [string, string] => typeof e[1] === 'string',
    ),
  );
}

/** True for a message that asks for an apply (it is read by applyMessage, not controlMessage). */
function isApply(data: unknown): boolean {
  return typeof data === 'object' && data !== null && (data as { command?: unknown }).command === 'apply';
}

/**
 * `switchyard apply -f` as a control message (issue 11): people need only read access to
 * Firestore, and every stored target and template says which verified identity stored it. The
 * documents are validated again here with the CLI's own schema (the sender is never trusted), their
 * analysis references checked, and each document authorized: changing a stored target takes
 * `apply` granted by the rules that apply to it AS STORED (its spec.access and the policy rules
 * that select its stored labels), so nobody takes a target over by rewriting its access; creating
 * a target, or applying a template, takes an operator (or a policy rule: authorizeCreate,
 * authorizeTemplate). Then everything is stored in one transaction (TargetStore.apply) or nothing
 * is, and the answer is recorded under the request id: a redelivered apply is answered from the
 * record, not applied again.
 */
async function runApply(d: Deps, data: unknown): Promise<ControlResult> {
  const parsed = applyMessage.safeParse(data);
  if (!parsed.success) {
    const reason = `malformed apply message: ${describeIssues(parsed.error)}`;
    d.log.warn(reason, { message: summarized(data) });
    return refuseUnverified(d, data, reason);
  }
  const { idToken, requestedBy: claimed, documents, source } = parsed.data;
  const id = parsed.data.requestId;
  const log = d.log.with({ requestId: id, command: 'apply', ...(source ? { source } : {}) });
  if (!idToken) {
    log.warn('apply refused: no ID token', { claimedBy: claimed });
    return refuseUnverified(
      d,
      data,
      'apply: not signed in: the message carries no ID token (idToken); `switchyard` sends one from Application Default Credentials',
    );
  }
  const verified = await d.identity.verify(idToken);
  if (!verified.ok) {
    log.warn(`apply refused: ${verified.reason}`, { claimedBy: claimed });
    return refuseUnverified(d, data, `apply: ${verified.reason}`);
  }
  const who = verified.identity;
  const ref = d.store.requestRef(id);
  const seen = await ref.get();
  if (seen.exists) {
    log.info('apply already answered (a redelivery): not applied again');
    return seen.data() as ControlResult;
  }
  const targets = new TargetStore(d.db);
  const now = d.now();
  const names = (list: readonly string[]) => list.join(', ').slice(0, 200);
  let documentNames: string[] = [];
  /** Records the answer unless one is recorded already (a concurrent delivery); returns what is recorded. */
  const record = async (
    r: Pick<RequestRecord, 'outcome' | 'reason' | 'documents' | 'errors'>,
  ): Promise<ControlResult> => {
    const doc: RequestRecord = {
      requestId: id,
      receivedAt: now,
      expireAt: recordExpiry(now),
      command: 'apply',
      target: names(documentNames),
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
  const refuse = (reason: string, errors: TargetError[]) =>
    record({ outcome: 'refused', reason, errors: errors.slice(0, maxListedErrors) });

  const valid = validateDocuments(documents);
  if ('errors' in valid) {
    return refuse(
      `apply: ${plural(valid.errors.length, 'problem')} in the documents; nothing was applied: ${summary(valid.errors)}`,
      valid.errors,
    );
  }
  documentNames = [...valid.templates.map((t) => t.name), ...valid.targets.map((t) => t.metadata.name)];
  const local = checkTemplateReferences(valid.targets, valid.templates, new Set());
  if (local.length > 0) {
    const unresolved = checkTemplateReferences(
      valid.targets,
      valid.templates,
      new Set(await targets.templateNames()),
    );
    if (unresolved.length > 0) {
      return refuse(
        `apply: ${plural(unresolved.length, 'analysis reference')} to no template; nothing was applied: ${summary(unresolved)}`,
        unresolved,
      );
    }
  }

  // Who may apply each document, from the targets as stored now.
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
  if (refusals.length > 0) {
    refusals.sort((a, b) => a.document - b.document);
    return refuse(
      refusals.length === 1
        ? `${refusals[0]!.path}: ${refusals[0]!.message}; nothing was applied`
        : `apply: ${refusals.length} documents may not be applied by ${who.email}; nothing was applied: ${summary(refusals)}`,
      refusals,
    );
  }

  let applied: Awaited<ReturnType<TargetStore['apply']>>;
  try {
    applied = await targets.apply(valid.targets, who.email, valid.templates);
  } catch (err) {
    if (err instanceof MissingTemplatesError) return refuse(`apply: ${err.message}`, []);
    // Firestore's INVALID_ARGUMENT (a document over 1 MiB, a transaction too large): retrying
    // cannot help, so it is an answer. Anything else (unavailable, contention) is delivered again.
    if ((err as { code?: unknown }).code === 3) {
      return refuse(
        `apply: Firestore refused the documents: ${(err as Error).message}; nothing was applied`,
        [],
      );
    }
    throw err;
  }
  const rows: AppliedDocument[] = [
    ...applied.templates.map((r) => ({ kind: 'AnalysisTemplate' as const, ...r })),
    ...applied.targets.map((r) => ({ kind: 'ReleaseTarget' as const, ...r })),
  ];
  return record({ outcome: 'applied', reason: null, documents: rows });
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

/**
 * Whether `who` may change the stored target `data`: by its stored spec.access and the policy rules
 * that select its stored labels. A stored access that no longer validates (edited by hand) vouches
 * for nobody: then only the installation's operators may apply it again.
 */
function authorizeStored(
  name: string,
  data: DocumentData,
  installation: Installation,
  who: Identity,
): Decision {
  const raw = (data.spec as { access?: unknown } | undefined)?.access;
  let access: Access | undefined;
  if (raw !== undefined) {
    const read = accessSchema.safeParse(raw);
    if (!read.success) {
      return authorize({ name }, { operators: installation.operators }, who, 'apply');
    }
    access = read.data;
  }
  return authorize({ name, labels: labelsOf(data), access }, installation, who, 'apply');
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
