// The verification of ID tokens, against a key set of our own: what Google's issuer and the local
// one both go through (token.ts).
import { createLocalJWKSet, exportJWK, generateKeyPair, type JWK, SignJWT } from 'jose';
import { beforeAll, describe, expect, it } from 'vitest';
import { type IssuerConfig, verifyIdToken } from './token.ts';

const cfg: IssuerConfig = {
  issuer: 'http://127.0.0.1:9999',
  certsUrl: 'http://127.0.0.1:9999/certs',
  audience: 'https://switchyard.dev/projects/p/installations/switchyard',
};
let key: CryptoKey;
let other: CryptoKey;
let keys: ReturnType<typeof createLocalJWKSet>;

beforeAll(async () => {
  const pair = await generateKeyPair('RS256');
  key = pair.privateKey;
  other = (await generateKeyPair('RS256')).privateKey;
  const jwk: JWK = { ...(await exportJWK(pair.publicKey)), kid: 'k1', alg: 'RS256' };
  keys = createLocalJWKSet({ keys: [jwk] });
});

function token(
  claims: Record<string, unknown> = {},
  opts: { signer?: CryptoKey; kid?: string; exp?: number } = {},
) {
  const now = Math.floor(Date.now() / 1000);
  return new SignJWT({ email: 'Alice@Team-A.example', email_verified: true, hd: 'team-a.example', ...claims })
    .setProtectedHeader({ alg: 'RS256', kid: opts.kid ?? 'k1' })
    .setIssuer((claims.iss as string) ?? cfg.issuer)
    .setAudience((claims.aud as string) ?? cfg.audience)
    .setIssuedAt(now - 60)
    .setExpirationTime(opts.exp ?? now + 3600)
    .sign(opts.signer ?? key);
}

const verify = (t: string) => verifyIdToken(t, cfg, keys);

describe('ID tokens', () => {
  it('a good one gives the verified email (lower-cased) and hosted domain', async () => {
    expect(await verify(await token())).toEqual({
      ok: true,
      identity: { email: 'alice@team-a.example', hostedDomain: 'team-a.example' },
    });
  });

  it('refuses each bad one with the reason', async () => {
    const past = Math.floor(Date.now() / 1000) - 600;
    const cases: [Promise<string> | string, RegExp][] = [
      [
        token({}, { signer: other }),
        /signature does not verify against the keys of http:\/\/127\.0\.0\.1:9999$/,
      ],
      [
        token({}, { signer: other, kid: 'k2' }),
        /signed with a key http:\/\/127\.0\.0\.1:9999 does not publish$/,
      ],
      [token({}, { exp: past }), /^ID token refused: expired at \d{4}-/],
      [
        token({ aud: 'https://other.example' }),
        /audience is "https:\/\/other.example", not this installation's/,
      ],
      [token({ iss: 'https://evil.example' }), /issued by "https:\/\/evil.example", not by http:\/\/127/],
      [token({ email_verified: false }), /email Alice@Team-A.example is not verified/],
      [token({ email: undefined }), /carries no email/],
      ['not.a.jwt', /not a JWT/],
      ['', /not a JWT/],
    ];
    for (const [t, reason] of cases) {
      const r = await verify(await t);
      expect(r.ok, String(reason)).toBe(false);
      expect(r.ok ? '' : r.reason).toMatch(reason);
    }
  });

  it('refuses an unsigned token (alg none) and a symmetric one', async () => {
    const b64 = (v: unknown) => Buffer.from(JSON.stringify(v)).toString('base64url');
    const now = Math.floor(Date.now() / 1000);
    const claims = {
      iss: cfg.issuer,
      aud: cfg.audience,
      email: 'a@b.example',
      email_verified: true,
      iat: now,
      exp: now + 60,
    };
    expect(await verify(`${b64({ alg: 'none' })}.${b64(claims)}.`)).toEqual({
      ok: false,
      reason: 'ID token refused: unsigned (alg none)',
    });
    const hs = await new SignJWT(claims).setProtectedHeader({ alg: 'HS256' }).sign(new Uint8Array(32));
    expect(await verify(hs)).toEqual({
      ok: false,
      reason: 'ID token refused: signed with HS256; only RS256 is accepted',
    });
  });

  it("accepts Google's issuer with and without https://", async () => {
    const google = { ...cfg, issuer: 'https://accounts.google.com' };
    for (const iss of ['https://accounts.google.com', 'accounts.google.com']) {
      expect((await verifyIdToken(await token({ iss }), google, keys)).ok).toBe(true);
    }
  });

  it('an issuer whose keys cannot be read is a fault to retry, not a refusal', async () => {
    const down = { ...cfg, certsUrl: 'http://127.0.0.1:1/certs' };
    await expect(verifyIdToken(await token(), down)).rejects.toMatchObject({ kind: 'unavailable' });
  });
});
