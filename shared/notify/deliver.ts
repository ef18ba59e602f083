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
}

const retriable = (status: number) => status === 408 || status === 429 || status >= 500;

/**
 * POSTs `body` (already JSON) to `url` until it is accepted (2xx), refused (4xx) or out of attempts.
 * The URL goes through the egress policy: an address it refuses is not tried again, and redirects
 * are not followed (a notifier's URL is its final address).
 */
export async function postJson(
  url: string,
  body: string,
  contentType: string,
  opts: DeliveryOptions,
): Promise<DeliveryResult> {
  let last: DeliveryResult = { ok: false, attempts: 0, status: null, error: 'not attempted' };
  for (let attempt = 1; attempt <= opts.attempts; attempt++) {
    if (attempt > 1) await sleep(opts.backoffMs * 2 ** (attempt - 2));
    try {
      const res = await egressFetch(
        {
          url,
          method: 'POST',
          headers: { 'content-type': contentType, 'user-agent': 'switchyard-notify' },
          body,
          signal: AbortSignal.timeout(opts.timeoutMs),
        },
        { policy: (opts.egress ?? installationPolicy)(), maxRedirects: 0, maxBodyBytes: 64 * 1024 },
      );
      // Drain the answer so the connection is released; its content does not matter.
      await res.text().catch(() => undefined);
      if (res.status >= 200 && res.status < 300)
        return { ok: true, attempts: attempt, status: res.status, error: null };
      last = { ok: false, attempts: attempt, status: res.status, error: `answered HTTP ${res.status}` };
      if (!retriable(res.status)) return last;
    } catch (err) {
      // The refusal names an address, never the URL (which may carry a token); retrying cannot help.
      if (err instanceof EgressRefusedError)
        return { ok: false, attempts: attempt, status: null, error: `refused: ${err.message}` };
      const e = err as Error & { cause?: { code?: string } };
      const error =
        e.name === 'TimeoutError'
          ? `no answer within ${opts.timeoutMs} ms`
          : `could not connect${e.cause?.code ? ` (${e.cause.code})` : ''}`;
      last = { ok: false, attempts: attempt, status: null, error };
    }
  }
  return last;
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
  if (!value) throw new SecretError(`secret "${id}" is empty: add a version with the URL`);
  return value;
}
