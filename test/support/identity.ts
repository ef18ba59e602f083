// ID tokens for the test run's control messages, from the stack's own issuer (infra/local/issuer.ts),
// and the hostile ones an attacker would try: signed by another key, unsigned, expired, for another
// audience. No vitest import: the run's global setup reads testOperators from here.
import { exportJWK, generateKeyPair, SignJWT } from 'jose';
import { defaultAudience } from '../../shared/config.ts';

/**
 * The installation's operators on test stacks: the local dev domain and the identities the tests
 * and the CLI tests sign as (test/support/release.ts, test/cli/cli.ts).
 */
export const testOperators = 'domain:switchyard.local,test@switchyard,cli-test';

/** Who the fixtures' control messages are signed as. */
export const testUser = 'test@switchyard';

/** The audience the functions of a stack in project `projectId` expect (default prefix). */
export const audienceOf = (projectId: string) => defaultAudience(projectId, 'switchyard');

/** A token from the stack's issuer for `email`; `expiresInSeconds` < 0 gives an expired one. */
export async function issuedToken(
  issuerUrl: string,
  email: string,
  audience: string,
  expiresInSeconds?: number,
): Promise<string> {
  const res = await fetch(`${issuerUrl}/token`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({
      email,
      audience,
      ...(expiresInSeconds === undefined ? {} : { expiresInSeconds }),
    }),
  });
  const body = (await res.json()) as { id_token?: string; error?: string };
  if (!body.id_token) throw new Error(`the local issuer gave no token: ${body.error ?? res.status}`);
  return body.id_token;
}

/**
 * A token that claims to come from the stack's issuer, with every claim right, but signed by a key
 * of the attacker's own (under the kid the issuer publishes, or one of its own).
 */
export async function forgedToken(
  issuerUrl: string,
  email: string,
  audience: string,
  kid?: string,
): Promise<string> {
  const { privateKey, publicKey } = await generateKeyPair('RS256');
  const ownKid = kid ?? `forged-${(await exportJWK(publicKey)).n!.slice(0, 8)}`;
  return new SignJWT({ email, email_verified: true })
    .setProtectedHeader({ alg: 'RS256', kid: ownKid })
    .setIssuer(issuerUrl)
    .setAudience(audience)
    .setIssuedAt()
    .setExpirationTime('1h')
    .sign(privateKey);
}

/** An unsigned token (alg none) with every claim right. */
export function unsignedToken(issuerUrl: string, email: string, audience: string): string {
  const b64 = (v: unknown) => Buffer.from(JSON.stringify(v)).toString('base64url');
  const now = Math.floor(Date.now() / 1000);
  const claims = { iss: issuerUrl, aud: audience, email, email_verified: true, iat: now, exp: now + 3600 };
  return `${b64({ alg: 'none', typ: 'JWT' })}.${b64(claims)}.`;
}

/** The key id the issuer publishes (a forger copies it). */
export async function publishedKid(issuerUrl: string): Promise<string> {
  const { keys } = (await (await fetch(`${issuerUrl}/certs`)).json()) as { keys: { kid: string }[] };
  return keys[0]!.kid;
}
