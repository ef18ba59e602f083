// Verifying the ID token a control message carries (issue 11): signature against the issuer's
// published keys, issuer, audience, expiry, a verified email. One code path for Google's issuer
// (https://accounts.google.com, its certs) and the local stack's own (infra/local/issuer.ts): only
// the issuer and the certs URL differ, and both come from the installation's config.
//
// jose does the JOSE work (a maintained, dependency-free implementation of JWS/JWT and remote JWKS
// with caching and key rotation); what is Switchyard's here is which claims must hold and the reasons.
import { createRemoteJWKSet, decodeProtectedHeader, errors, type JWTVerifyGetKey, jwtVerify } from 'jose';
import type { Identity } from './access.ts';

export interface IssuerConfig {
  /** The `iss` a token must carry. Google's is https://accounts.google.com (also seen without https://). */
  issuer: string;
  /** The issuer's JWKS (Google: https://www.googleapis.com/oauth2/v3/certs). */
  certsUrl: string;
  /** The `aud` a token must carry: fixed per installation. */
  audience: string;
}

export type Verified = { ok: true; identity: Identity } | { ok: false; reason: string };

export const googleIssuer = 'https://accounts.google.com';
export const googleCertsUrl = 'https://www.googleapis.com/oauth2/v3/certs';

/** Google signs ID tokens with RS256, and so does the local issuer; nothing else is accepted. */
const algorithms = ['RS256'];
/** Clock skew tolerated on exp/iat/nbf. */
const clockToleranceSeconds = 30;

/** The `iss` values a token of this issuer may carry. */
function issuersOf(issuer: string): string[] {
  return issuer === googleIssuer ? [googleIssuer, 'accounts.google.com'] : [issuer];
}

const keySets = new Map<string, JWTVerifyGetKey>();

/** The issuer's keys, fetched on first use and refreshed by jose when a token names a new key id. */
function keysOf(certsUrl: string): JWTVerifyGetKey {
  let keys = keySets.get(certsUrl);
  if (!keys) {
    keys = createRemoteJWKSet(new URL(certsUrl), { timeoutDuration: 5000, cooldownDuration: 30_000 });
    keySets.set(certsUrl, keys);
  }
  return keys;
}

/**
 * Verifies an ID token. A token that is not good is `{ ok: false, reason }` (the reason says what is
 * wrong, never the token); an issuer whose keys cannot be fetched throws an `unavailable` error, so
 * the message is delivered again rather than refused for a fault of ours.
 */
export async function verifyIdToken(
  token: string,
  cfg: IssuerConfig,
  keys: JWTVerifyGetKey = keysOf(cfg.certsUrl),
  now: Date = new Date(),
): Promise<Verified> {
  const refuse = (why: string): Verified => ({ ok: false, reason: `ID token refused: ${why}` });
  let alg: string | undefined;
  try {
    alg = decodeProtectedHeader(token).alg;
  } catch {
    return refuse('not a JWT (three base64url parts with a JSON header)');
  }
  if (!alg || alg.toLowerCase() === 'none') return refuse('unsigned (alg none)');
  if (!algorithms.includes(alg)) return refuse(`signed with ${alg}; only RS256 is accepted`);
  try {
    const { payload } = await jwtVerify(token, keys, {
      algorithms,
      issuer: issuersOf(cfg.issuer),
      audience: cfg.audience,
      clockTolerance: clockToleranceSeconds,
      currentDate: now,
      requiredClaims: ['exp', 'iat'],
    });
    const email = typeof payload.email === 'string' ? payload.email : undefined;
    if (!email)
      return refuse('it carries no email (mint it with the email claim: a user or a service account)');
    if (payload.email_verified !== true && payload.email_verified !== 'true') {
      return refuse(`the email ${email} is not verified by the issuer`);
    }
    const hd = typeof payload.hd === 'string' ? payload.hd : undefined;
    return { ok: true, identity: { email: email.toLowerCase(), ...(hd ? { hostedDomain: hd } : {}) } };
  } catch (err) {
    if (err instanceof errors.JWTExpired) {
      const exp = Number(err.payload.exp);
      return refuse(
        `expired at ${Number.isFinite(exp) ? new Date(exp * 1000).toISOString() : 'an unknown time'}`,
      );
    }
    if (err instanceof errors.JWTClaimValidationFailed) {
      const value = err.payload[err.claim];
      const shown = JSON.stringify(value ?? null).slice(0, 120);
      if (err.claim === 'aud')
        return refuse(`its audience is ${shown}, not this installation's (${cfg.audience})`);
      if (err.claim === 'iss') return refuse(`issued by ${shown}, not by ${cfg.issuer}`);
      return refuse(`claim ${err.claim} ${shown}: ${err.reason === 'missing' ? 'missing' : err.message}`);
    }
    if (err instanceof errors.JWSSignatureVerificationFailed) {
      return refuse(`its signature does not verify against the keys of ${cfg.issuer}`);
    }
    if (err instanceof errors.JWKSNoMatchingKey) {
      return refuse(`signed with a key ${cfg.issuer} does not publish`);
    }
    if (err instanceof errors.JWKSMultipleMatchingKeys) {
      return refuse('it names no key id (kid) and the issuer publishes several keys');
    }
    if (err instanceof errors.JWKSTimeout || err instanceof errors.JWKSInvalid) {
      throw Object.assign(
        new Error(`the keys of ${cfg.issuer} (${cfg.certsUrl}) could not be read: ${err.message}`),
        {
          kind: 'unavailable' as const,
        },
      );
    }
    if (err instanceof errors.JOSEError) return refuse(`${err.code}: ${err.message}`);
    // A network failure fetching the keys: not the caller's fault, deliver again.
    throw Object.assign(
      new Error(
        `the keys of ${cfg.issuer} (${cfg.certsUrl}) could not be read: ${err instanceof Error ? err.message : String(err)}`,
      ),
      { kind: 'unavailable' as const, cause: err },
    );
  }
}
