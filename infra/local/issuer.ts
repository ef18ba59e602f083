// The local stack's stand-in for Google's ID-token issuer (issue 11): a key pair it makes (kept in
// its folder, so a restart keeps the keys tokens were signed with), its JWKS served on loopback, and
// a token endpoint that mints an ID token for any email asked — a dev convenience that exists only
// here, never in a deployment. The functions verify these tokens with the same code as Google's
// (shared/identity/token.ts); only the issuer and certs URL in their config differ.
// Usage: node infra/local/issuer.ts <dir> <port>
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { join } from 'node:path';
import { exportJWK, generateKeyPair, importJWK, type JWK, SignJWT } from 'jose';

const [dir, portText] = process.argv.slice(2);
if (!dir || !portText || !(Number(portText) > 0)) {
  process.stderr.write('usage: issuer.ts <dir> <port>\n');
  process.exit(2);
}
const port = Number(portText);
const issuer = `http://127.0.0.1:${port}`;

/** The signing key, made once per stack folder. */
async function signingKey(): Promise<{ privateJwk: JWK; publicJwk: JWK }> {
  const file = join(dir!, 'key.json');
  if (existsSync(file)) return JSON.parse(readFileSync(file, 'utf8')) as { privateJwk: JWK; publicJwk: JWK };
  const { privateKey, publicKey } = await generateKeyPair('RS256', { extractable: true });
  const kid = `local-${Date.now().toString(36)}`;
  const privateJwk = { ...(await exportJWK(privateKey)), kid, alg: 'RS256', use: 'sig' };
  const publicJwk = { ...(await exportJWK(publicKey)), kid, alg: 'RS256', use: 'sig' };
  mkdirSync(dir!, { recursive: true });
  writeFileSync(file, JSON.stringify({ privateJwk, publicJwk }), { mode: 0o600 });
  return { privateJwk, publicJwk };
}

const { privateJwk, publicJwk } = await signingKey();
const key = await importJWK(privateJwk, 'RS256');

function send(res: ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, { 'content-type': 'application/json' });
  res.end(JSON.stringify(body));
}

async function readJson(req: IncomingMessage): Promise<Record<string, unknown>> {
  let text = '';
  for await (const chunk of req) {
    text += chunk;
    if (text.length > 16_384) throw new Error('body over 16 KiB');
  }
  const value = JSON.parse(text || '{}') as unknown;
  if (!value || typeof value !== 'object' || Array.isArray(value))
    throw new Error('body must be a JSON object');
  return value as Record<string, unknown>;
}

/**
 * POST /token {email, audience, expiresInSeconds?}: an ID token as Google's would be for that
 * account (email_verified, hd = the email's domain). expiresInSeconds (default 3600, at most 3600)
 * may be negative: a token that has already expired, for tests.
 */
async function mint(body: Record<string, unknown>): Promise<{ id_token: string; expires_in: number }> {
  const email = body.email;
  const audience = body.audience;
  if (typeof email !== 'string' || email.length === 0 || email.length > 320)
    throw new Error('email: required');
  if (typeof audience !== 'string' || audience.length === 0) throw new Error('audience: required');
  const lifetime = body.expiresInSeconds === undefined ? 3600 : Number(body.expiresInSeconds);
  if (!Number.isFinite(lifetime) || lifetime > 3600) throw new Error('expiresInSeconds: at most 3600');
  const now = Math.floor(Date.now() / 1000);
  const exp = now + lifetime;
  // An expired token was issued an hour before it expired, as Google's are.
  const iat = lifetime < 0 ? exp - 3600 : now;
  const domain = email.includes('@') ? email.slice(email.lastIndexOf('@') + 1) : undefined;
  const token = await new SignJWT({
    email,
    email_verified: true,
    ...(domain ? { hd: domain } : {}),
  })
    .setProtectedHeader({ alg: 'RS256', kid: publicJwk.kid!, typ: 'JWT' })
    .setIssuer(issuer)
    .setAudience(audience)
    .setSubject(`local:${email}`)
    .setIssuedAt(iat)
    .setExpirationTime(exp)
    .sign(key);
  return { id_token: token, expires_in: lifetime };
}

const server = createServer((req, res) => {
  const path = (req.url ?? '/').split('?')[0];
  if (req.method === 'GET' && path === '/certs') return send(res, 200, { keys: [publicJwk] });
  if (req.method === 'GET' && path === '/.well-known/openid-configuration') {
    return send(res, 200, {
      issuer,
      jwks_uri: `${issuer}/certs`,
      token_endpoint: `${issuer}/token`,
      id_token_signing_alg_values_supported: ['RS256'],
    });
  }
  if (req.method === 'POST' && path === '/token') {
    readJson(req)
      .then(mint)
      .then(
        (t) => send(res, 200, t),
        (err: unknown) => send(res, 400, { error: err instanceof Error ? err.message : String(err) }),
      );
    return;
  }
  send(res, 404, {
    error: `no ${req.method} ${path} here: GET /certs, GET /.well-known/openid-configuration, POST /token`,
  });
});
server.listen(port, '127.0.0.1', () => process.stdout.write(`issuer ${issuer} ready\n`));
process.on('SIGTERM', () => server.close(() => process.exit(0)));
