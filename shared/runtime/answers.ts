// The answers of control messages (commands and applies), recorded under their request id: the
// CLI waits for that record, and a redelivered message is answered from it, not applied again.
import { type RequestRecord, recordExpiry } from '../adapters/store.ts';
import { requestId } from '../messages.ts';
import type { RefusalCode } from '../refusals.ts';
import type { Deps } from './deps.ts';

export interface ControlResult {
  outcome: 'applied' | 'refused';
  /** Why it was refused, as a code (shared/refusals.ts); absent when applied. */
  code?: RefusalCode;
  reason: string | null;
  releaseId: string | null;
}

/**
 * Answers a message whose sender is not known (malformed, or its ID token refused) under its
 * request id when it has a valid one (the CLI waits for that answer); otherwise it is only logged.
 * Retrying cannot help either way. Nothing else is written: an unknown sender changes no release.
 */
export async function refuseUnverified(
  d: Deps,
  data: unknown,
  code: RefusalCode,
  reason: string,
): Promise<ControlResult> {
  const result: ControlResult = { outcome: 'refused', code, reason, releaseId: null };
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
