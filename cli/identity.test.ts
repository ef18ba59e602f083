import { createServer } from 'node:http';
import { afterEach, describe, expect, it } from 'vitest';
import { callerIdToken, localIdToken, localUser, noIdTokenAdvice } from './identity.ts';

const saved = { ...process.env };
afterEach(() => {
  process.env = { ...saved };
});

describe("the caller's ID token", () => {
  it('is SWITCHYARD_ID_TOKEN when set, before anything else', async () => {
    process.env.SWITCHYARD_ID_TOKEN = 'given.token.x';
    const cfg = { identity: { audience: 'a' }, localTokenUrl: 'http://127.0.0.1:1/token' };
    expect(await callerIdToken(cfg as never)).toBe('given.token.x');
  });

  it('comes from the local issuer for SWITCHYARD_USER, else <login>@switchyard.local', async () => {
    delete process.env.SWITCHYARD_USER;
    expect(localUser()).toMatch(/@switchyard\.local$/);
    process.env.SWITCHYARD_USER = 'dana@switchyard.local';
    const asked: unknown[] = [];
    const server = createServer((req, res) => {
      let body = '';
      req.on('data', (c) => (body += c));
      req.on('end', () => {
        asked.push(JSON.parse(body));
        res
          .writeHead(200, { 'content-type': 'application/json' })
          .end(JSON.stringify({ id_token: 'local.jwt.x' }));
      });
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const url = `http://127.0.0.1:${(server.address() as { port: number }).port}/token`;
    try {
      const cfg = { identity: { audience: 'aud-1' }, localTokenUrl: url };
      expect(await callerIdToken(cfg as never)).toBe('local.jwt.x');
      expect(asked).toEqual([{ email: 'dana@switchyard.local', audience: 'aud-1' }]);
    } finally {
      server.close();
    }
  });

  it('says what to do when the local issuer does not answer, or a user cannot mint one', async () => {
    await expect(localIdToken('http://127.0.0.1:1/token', 'a@b', 'aud')).rejects.toThrow(
      /does not answer .*: run `switchyard dev up`/,
    );
    const advice = noIdTokenAdvice(
      'https://switchyard.dev/projects/p/installations/switchyard',
      'Cannot fetch ID token',
    );
    expect(advice).toContain('--impersonate-service-account=SA_EMAIL');
    expect(advice).toContain('SWITCHYARD_ID_TOKEN');
  });
});
