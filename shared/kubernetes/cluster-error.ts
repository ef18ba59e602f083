// The errors of cluster operations, apart from the Kubernetes client (what classifies an API
// answer into one is errors.ts), so code that only tells them apart (the CLI's failure messages)
// loads no client.
import type { ErrorKind } from '../errors.ts';

/**
 * What went wrong, in terms a caller can act on (the kinds of shared/errors.ts): 'not-found' (404),
 * 'conflict' (409: changed meanwhile or being deleted), 'forbidden' (401/403: RBAC or credentials),
 * 'invalid' (400/422 and other refusals), 'unavailable' (5xx, 429, network) and 'unsafe' (Switchyard
 * refused, e.g. to delete a revision that still serves traffic or to touch an object it does not own).
 */
export type ClusterErrorKind = Exclude<ErrorKind, 'internal' | 'fenced'>;

/** An error of a cluster operation, with a message saying what failed and what to fix. */
export class ClusterError extends Error {
  readonly kind: ClusterErrorKind;
  /** HTTP status of the API answer, when there was one. */
  readonly status: number | undefined;
  constructor(kind: ClusterErrorKind, message: string, options: { status?: number; cause?: unknown } = {}) {
    super(message, { cause: options.cause });
    this.name = 'ClusterError';
    this.kind = kind;
    this.status = options.status;
  }
}

/**
 * A refusal of the serving guard: the Deployment still serves (or is still listed) behind
 * `service`, which `routes` (e.g. `HTTPRoute "web"`) send traffic to, if any. Kind 'in-use'; the
 * step that hit it records it in the release history.
 */
export class ServingRefusal extends ClusterError {
  readonly service: string | undefined;
  readonly routes: string[];
  constructor(message: string, service?: string, routes: string[] = []) {
    super('in-use', message);
    this.name = 'ServingRefusal';
    this.service = service;
    this.routes = routes;
  }
}
