// One place decides what an error means: try again (Pub/Sub redelivers) or give up with a reason.
// Decided by a `kind` field or a gRPC/HTTP code, never by instanceof chains, so errors that crossed
// a library or serialisation boundary still classify.

export type ErrorKind =
  | 'not-found'
  | 'conflict'
  | 'forbidden'
  | 'invalid'
  | 'unsafe'
  /**
   * The serving guard refused to scale down or delete a revision because a Service of the target
   * selects it or still lists its endpoints. Never retried as a delivery: the step records it.
   */
  | 'in-use'
  /** A step ran out of its lease before a write: it stops and writes nothing more (redelivered). */
  | 'fenced'
  /** The dependency did not answer (5xx, 429, network, gRPC UNAVAILABLE/ABORTED/DEADLINE_EXCEEDED). */
  | 'unavailable'
  /** Anything unrecognised: a bug or a surprise; retried, and dead-lettered if it persists. */
  | 'internal';

const known = new Set<ErrorKind>([
  'not-found',
  'conflict',
  'forbidden',
  'invalid',
  'unsafe',
  'in-use',
  'fenced',
  'unavailable',
  'internal',
]);
// gRPC codes: 4 DEADLINE_EXCEEDED, 8 RESOURCE_EXHAUSTED, 10 ABORTED, 13 INTERNAL, 14 UNAVAILABLE.
const transientGrpc = new Set([4, 8, 10, 13, 14]);
const networkCodes = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ETIMEDOUT',
  'EPIPE',
  'ENOTFOUND',
  'EAI_AGAIN',
  'UND_ERR_SOCKET',
]);

export function errorKind(err: unknown): ErrorKind {
  const e = err as { kind?: unknown; code?: unknown; cause?: { code?: unknown } } | null;
  if (e && typeof e.kind === 'string' && known.has(e.kind as ErrorKind)) return e.kind as ErrorKind;
  if (e && typeof e.code === 'number' && transientGrpc.has(e.code)) return 'unavailable';
  const code =
    typeof e?.code === 'string' ? e.code : typeof e?.cause?.code === 'string' ? e.cause.code : undefined;
  if (code && networkCodes.has(code)) return 'unavailable';
  if (err instanceof TypeError && err.message === 'fetch failed') return 'unavailable';
  return 'internal';
}

/** Whether the step that hit `err` should be delivered again ('retry') or end with a reason ('final'). */
export function retriability(err: unknown): 'retry' | 'final' {
  const kind = errorKind(err);
  return kind === 'unavailable' || kind === 'conflict' || kind === 'internal' || kind === 'fenced'
    ? 'retry'
    : 'final';
}

/** An error the caller caused (bad message, bad file): never retried, always explained. */
export function invalid(message: string): Error & { kind: 'invalid' } {
  return Object.assign(new Error(message), { kind: 'invalid' as const });
}
