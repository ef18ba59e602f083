// The caller's ID token for a control message (issue 11), for the installation's audience:
// - $SWITCHYARD_ID_TOKEN when set (a token got some other way, e.g. in CI);
// - on the local stack, from its issuer's dev token endpoint, for $SWITCHYARD_USER (default
//   <login>@switchyard.local);
// - on Google Cloud, from Application Default Credentials (GoogleAuth.getIdTokenClient): a service
//   account, the metadata server, or a user's credentials impersonating a service account.
import { userInfo } from 'node:os';
import type { Config } from '../shared/config.ts';
import { CliError, exitCodes } from './exit-codes.ts';

/** Who a local-stack command is signed as: $SWITCHYARD_USER, else <login>@switchyard.local. */
export function localUser(): string {
  if (process.env.SWITCHYARD_USER) return process.env.SWITCHYARD_USER;
  try {
    return `${userInfo().username}@switchyard.local`;
  } catch {
    return 'unknown@switchyard.local';
  }
}

/** An ID token from the local stack's issuer for `email` (a dev convenience; the stack's only). */
export async function localIdToken(tokenUrl: string, email: string, audience: string): Promise<string> {
  let res: Response;
  try {
    res = await fetch(tokenUrl, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ email, audience }),
      signal: AbortSignal.timeout(5000),
    });
  } catch (err) {
    throw new CliError(
      exitCodes.failure,
      `the local stack's ID-token issuer at ${tokenUrl} does not answer (${(err as Error).message}): run \`switchyard dev up\``,
    );
  }
  const body = (await res.json().catch(() => ({}))) as { id_token?: string; error?: string };
  if (!res.ok || !body.id_token) {
    throw new CliError(
      exitCodes.failure,
      `the local issuer refused a token for ${email}: ${body.error ?? `HTTP ${res.status}`}`,
    );
  }
  return body.id_token;
}

/** Advice for ADC that cannot mint ID tokens (a user's `gcloud auth application-default login`). */
export function noIdTokenAdvice(audience: string, detail: string): string {
  return (
    `cannot get an ID token for ${audience} from Application Default Credentials (${detail}). ` +
    "A user's credentials from `gcloud auth application-default login` cannot mint ID tokens: " +
    'run `gcloud auth application-default login --impersonate-service-account=SA_EMAIL` (a service account you may impersonate, ' +
    "listed in the target's spec.access or the installation's operators), or set GOOGLE_APPLICATION_CREDENTIALS to a service account key, " +
    `or set SWITCHYARD_ID_TOKEN to a token for audience ${audience} (e.g. \`gcloud auth print-identity-token --impersonate-service-account=SA_EMAIL --audiences=${audience}\`)`
  );
}

/** The caller's ID token for the installation of `cfg` (see the file's opening). */
export async function callerIdToken(cfg: Config): Promise<string> {
  const given = process.env.SWITCHYARD_ID_TOKEN;
  if (given) return given;
  const audience = cfg.identity.audience;
  if (cfg.localTokenUrl) return localIdToken(cfg.localTokenUrl, localUser(), audience);
  if (cfg.firestoreEmulatorHost) {
    throw new CliError(
      exitCodes.failure,
      "emulators are named but no ID-token issuer: set SWITCHYARD_LOCAL_TOKEN_URL (`switchyard dev up` prints the stack's variables) or SWITCHYARD_ID_TOKEN",
    );
  }
  try {
    const { GoogleAuth } = await import('google-auth-library');
    const client = await new GoogleAuth().getIdTokenClient(audience);
    return await client.idTokenProvider.fetchIdToken(audience);
  } catch (err) {
    throw new CliError(
      exitCodes.failure,
      noIdTokenAdvice(audience, (err as Error).message.split('\n')[0] ?? ''),
    );
  }
}
