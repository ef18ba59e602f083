// Delivering one notification over HTTP: a POST with a timeout per attempt, retried a few times with
// backoff on timeouts, network errors, 429 and 5xx. URLs may carry tokens, so no error text here
// ever contains the URL.
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { EgressRefusedError, egressFetch, installationPolicy } from '../egress/fetch.ts';
import type { EgressPolicy } from '../egress/policy.ts';

export interface DeliveryOptions {
  /** Longest wait for one attempt's answer. */
  timeoutMs: number;
  attempts: number;
  /** Wait before the second attempt; doubled for each further one. */
  backoffMs: number;
  /** Which addresses a notifier URL may reach. Default: the installation's (SWITCHYARD_EGRESS_ALLOW). */
  egress?: () => EgressPolicy;
}

export interface DeliveryResult {
  ok: boolean;
  attempts: number;
  /** HTTP status of the last answer, if there was one. */
  status: number | null;
  error: string | null;
  /** The last answer's body (up to 64 KiB), when the caller asked for it (PostExtras.readAnswer). */
  answer?: string;
}

/** What a caller adds to a POST besides its body. */
export interface PostExtras {
  /**
   * Headers Switchyard adds itself (a bot token's Authorization): sent to the URL's own origin only,
   * never written into a result, an error or a log line.
   */
  ownHeaders?: Record<string, string>;
  /** Keep the answer's body in the result (DeliveryResult.answer). */
  readAnswer?: boolean;
}

const retriable = (status: number) => status === 408 || status === 429 || status >= 500;

/** The longest Retry-After (of a 429) waited for before the next attempt; a longer one ends the tries. */
export const maxRetryAfterMs = 10_000;

/**
 * POSTs `body` (already JSON) to `url` until it is accepted (2xx), refused (4xx) or out of attempts;
 * a 429's Retry-After (seconds) is waited for when it is short enough. The URL goes through the
 * egress policy: an address it refuses is not tried again, and redirects are not followed (a
 * notifier's URL is its final address).
 */
export async function postJson(
  url: string,
  body: string,
  contentType: string,
  opts: DeliveryOptions,
  extras: PostExtras = {},
): Promise<DeliveryResult> {
  let last: DeliveryResult = { ok: false, attempts: 0, status: null, error: 'not attempted' };
  let retryAfterMs = 0;
  for (let attempt = 1; attempt <= opts.attempts; attempt++) {
    if (attempt > 1) await sleep(Math.max(retryAfterMs, opts.backoffMs * 2 ** (attempt - 2)));
    const tried = await postOnce({ url, body, contentType, opts, extras, attempt });
    last = tried.result;
    if (!tried.retry) return last;
    retryAfterMs = tried.retryAfterMs ?? 0;
    if (retryAfterMs > maxRetryAfterMs) {
      return { ...last, error: `rate limited: asked to retry after ${retryAfterMs / 1000} s` };
    }
  }
  return last;
}

interface Attempt {
  url: string;
  body: string;
  contentType: string;
  opts: DeliveryOptions;
  extras: PostExtras;
  attempt: number;
}

interface Tried {
  result: DeliveryResult;
  retry: boolean;
  retryAfterMs?: number;
}

async function postOnce(a: Attempt): Promise<Tried> {
  const { attempt, opts } = a;
  try {
    const res = await egressFetch(
      {
        url: a.url,
        method: 'POST',
        headers: { 'content-type': a.contentType, 'user-agent': 'switchyard-notify' },
        body: a.body,
        signal: AbortSignal.timeout(opts.timeoutMs),
        ...(a.extras.ownHeaders ? { ownHeaders: a.extras.ownHeaders } : {}),
      },
      { policy: (opts.egress ?? installationPolicy)(), maxRedirects: 0, maxBodyBytes: 64 * 1024 },
    );
    // Read (or drain, so the connection is released) the answer.
    const answer = await res.text().catch(() => undefined);
    const kept = a.extras.readAnswer && answer !== undefined ? { answer } : {};
    if (res.status >= 200 && res.status < 300) {
      return {
        result: { ok: true, attempts: attempt, status: res.status, error: null, ...kept },
        retry: false,
      };
    }
    const result = {
      ok: false,
      attempts: attempt,
      status: res.status,
      error: `answered HTTP ${res.status}`,
      ...kept,
    };
    return { result, retry: retriable(res.status), retryAfterMs: retryAfter(res.headers['retry-after']) };
  } catch (err) {
    // The refusal names an address, never the URL (which may carry a token); retrying cannot help.
    if (err instanceof EgressRefusedError) {
      return {
        result: { ok: false, attempts: attempt, status: null, error: `refused: ${err.message}` },
        retry: false,
      };
    }
    return { result: { ok: false, attempts: attempt, status: null, error: faultOf(err, opts) }, retry: true };
  }
}

/** A network fault in words, without the URL or any header. */
function faultOf(err: unknown, opts: DeliveryOptions): string {
  const e = err as Error & { cause?: { code?: string } };
  if (e.name === 'TimeoutError') return `no answer within ${opts.timeoutMs} ms`;
  return `could not connect${e.cause?.code ? ` (${e.cause.code})` : ''}`;
}

/** A Retry-After of whole seconds in ms; undefined when absent or an HTTP date. */
export function retryAfter(header: string | undefined): number | undefined {
  if (!header || !/^\d{1,6}$/.test(header.trim())) return undefined;
  return Number(header.trim()) * 1000;
}

export class SecretError extends Error {}

/**
 * The value of a Secret Manager secret mounted into the function as a volume at `<dir>/<id>`, whose
 * latest version is the file `<dir>/<id>/<id>`. Read on every use, so a rotated secret is picked up.
 */
export async function readSecret(dir: string, id: string): Promise<string> {
  const file = join(dir, id, id);
  let value: string;
  try {
    value = (await readFile(file, 'utf8')).trim();
  } catch {
    throw new SecretError(
      `secret "${id}" is not mounted into the notify function (no file ${file}): add it to notifier_secrets in the Terraform module`,
    );
  }
  if (!value) throw new SecretError(`secret "${id}" is empty: add a version with the value`);
  return value;
}
