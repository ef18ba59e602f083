// Failures of Kubernetes API calls as ClusterErrors: a kind the runtime acts on (retry or give up)
// and a message that says what failed and what to fix.
import { ApiException } from '@kubernetes/client-node';
import { ClusterError, type ClusterErrorKind } from './cluster-error.ts';

export { ClusterError, type ClusterErrorKind, ServingRefusal } from './cluster-error.ts';

/** Runs one API call, turning its failure into a ClusterError that names `what`. */
export async function attempt<T>(what: string, call: () => Promise<T>): Promise<T> {
  try {
    return await call();
  } catch (err) {
    throw toClusterError(err, what);
  }
}

/** Like attempt(), but "not found" is `null`. */
export async function readOrNull<T>(what: string, call: () => Promise<T>): Promise<T | null> {
  try {
    return await call();
  } catch (err) {
    const e = toClusterError(err, what);
    if (e.kind === 'not-found') return null;
    throw e;
  }
}

/** The error kind of an HTTP status of the Kubernetes (or any Google) API. */
export function errorKindOfStatus(status: number): ClusterErrorKind {
  if (status === 404) return 'not-found';
  if (status === 409) return 'conflict';
  if (status === 401 || status === 403) return 'forbidden';
  if (status === 408 || status === 429 || status >= 500) return 'unavailable';
  return 'invalid';
}

const advice: Record<ClusterErrorKind, string> = {
  'not-found': 'check the names and namespace in the release target',
  conflict: 'it changed meanwhile; the step will be retried',
  forbidden: "grant Switchyard's service account access to it (RBAC) or check its credentials",
  invalid: 'the API refused the request as given',
  unavailable: 'the Kubernetes API is unavailable; the step will be retried',
  unsafe: 'Switchyard refused to go on',
  'in-use': 'it still serves traffic, so Switchyard left it as it is',
};

// Error codes of a failed connection (Node sockets, DNS, undici). Anything else unexpected is
// rethrown as is: a bug should surface as itself (shared/errors.ts calls it 'internal').
const networkCodes =
  /^(E(CONN(REFUSED|RESET|ABORTED)|TIMEDOUT|NOTFOUND|AI_AGAIN|HOSTUNREACH|NETUNREACH|PIPE)|UND_ERR_.*)$/;

function isNetworkError(err: unknown): boolean {
  for (let e: unknown = err, depth = 0; e instanceof Error && depth < 5; e = e.cause, depth++) {
    const code = (e as { code?: unknown }).code;
    if (typeof code === 'string' && networkCodes.test(code)) return true;
    if (e.name === 'TypeError' && e.message === 'fetch failed') return true;
    // A request abandoned by its timeout signal (AbortSignal.timeout).
    if (e.name === 'TimeoutError' || e.name === 'AbortError') return true;
  }
  return false;
}

/** The API's own explanation (a Status object's message), if the error body carries one. */
function apiMessage(err: ApiException<unknown>): string {
  let body: unknown = err.body;
  if (typeof body === 'string') {
    const text = body;
    try {
      body = JSON.parse(text);
    } catch {
      return text.slice(0, 300) || err.message;
    }
  }
  const message = (body as { message?: unknown } | null)?.message;
  return typeof message === 'string' ? message : err.message;
}

/**
 * Turns a failed API call into a ClusterError whose message says what failed and what to do.
 * Rethrows anything that is neither an API answer nor a network failure, unchanged.
 */
export function toClusterError(err: unknown, what: string): ClusterError {
  if (err instanceof ClusterError) return err;
  if (err instanceof ApiException) {
    const kind = errorKindOfStatus(err.code);
    return new ClusterError(kind, `${what}: ${apiMessage(err)} (HTTP ${err.code}): ${advice[kind]}`, {
      status: err.code,
      cause: err,
    });
  }
  if (isNetworkError(err)) {
    return new ClusterError('unavailable', `${what}: ${(err as Error).message}: ${advice.unavailable}`, {
      cause: err,
    });
  }
  throw err;
}
