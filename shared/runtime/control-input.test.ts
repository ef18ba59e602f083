// A malformed control message is refused with a reason that names what is wrong, and its log line
// keeps that reason (the message it logs goes under fields.message).
import { describe, expect, it } from 'vitest';
import { logger } from '../log.ts';
import { runControl } from './control.ts';
import type { Deps } from './deps.ts';

function controlDeps() {
  const lines: Record<string, unknown>[] = [];
  const touched: string[] = [];
  const answers: Record<string, unknown> = {};
  // Only the answer under its request id may be written; nothing else of the store is reached.
  const allowed: Record<string, unknown> = {
    requestRef: (id: string) => id,
    transaction: async (fn: (tx: unknown) => Promise<unknown>) =>
      fn({ get: async () => ({ exists: false }), set: (ref: string, doc: unknown) => (answers[ref] = doc) }),
  };
  const store = new Proxy(
    {},
    {
      get: (_, name) => {
        touched.push(String(name));
        if (String(name) in allowed) return allowed[String(name)];
        throw new Error(`a malformed message reached the store (${String(name)})`);
      },
    },
  );
  const d = { store, now: () => 0, log: logger({}, (l) => lines.push(JSON.parse(l))) } as unknown as Deps;
  return { d, lines, touched, answers };
}

const promote = {
  command: 'promote',
  target: 'api',
  requestedBy: 'ana@example.com',
  requestId: 'req-00000001',
};

describe('a malformed control message', () => {
  it('is refused naming the unknown field, and logged with that reason', async () => {
    const { d, lines, answers } = controlDeps();
    const data = { ...promote, ful: true };
    const result = await runControl(d, data);
    const reason =
      'malformed control message: ful: unknown field (did you mean full?); a control message has only command, target, release, full, requestedBy, reason, requestId, idToken';
    expect(result).toEqual({ outcome: 'refused', code: 'malformed', reason, releaseId: null });
    // Answered under its (valid) request id, so the sender learns why.
    expect(answers[promote.requestId]).toMatchObject({
      outcome: 'refused',
      code: 'malformed',
      reason,
      command: 'promote',
    });
    expect(lines).toEqual([
      expect.objectContaining({ severity: 'WARNING', message: reason, fields: { message: data } }),
    ]);
  });

  it.each([
    [{ ...promote, target: 'a/b' }, /^malformed control message: target: must be a DNS-1123 label/],
    [{ ...promote, release: '..' }, /^malformed control message: release: must not be "\.\."/],
    [
      { ...promote, requestId: 'req/0000001' },
      /^malformed control message: requestId: must not contain "\/"/,
    ],
  ])('is refused, reading no release or target: %j', async (data, reason) => {
    const { d, touched } = controlDeps();
    expect((await runControl(d, data)).reason).toMatch(reason);
    expect(touched.filter((t) => t !== 'requestRef' && t !== 'transaction')).toEqual([]);
  });
});

describe('a control message whose sender is not verified', () => {
  it('without an ID token is refused and answered, its claimed sender kept apart, nothing else read', async () => {
    const { d, answers, touched } = controlDeps();
    const result = await runControl(d, promote);
    expect(result).toEqual({
      outcome: 'refused',
      code: 'unauthenticated',
      reason:
        'promote: not signed in: the message carries no ID token (idToken); `switchyard` sends one from Application Default Credentials',
      releaseId: null,
    });
    expect(answers[promote.requestId]).toMatchObject({
      outcome: 'refused',
      requestedBy: null,
      claimedBy: 'ana@example.com',
    });
    expect(touched.filter((t) => t !== 'requestRef' && t !== 'transaction')).toEqual([]);
  });

  it('with a refused token is answered with the reason; the token is never logged', async () => {
    const { d, answers, lines } = controlDeps();
    const token = 'eyJhbGciOiJub25lIn0.eyJlbWFpbCI6ImFuYUBleGFtcGxlLmNvbSJ9.';
    const verified: string[] = [];
    (d as { identity: Deps['identity'] }).identity = {
      operators: [],
      verify: async (t) => {
        verified.push(t);
        return { ok: false, reason: 'ID token refused: unsigned (alg none)' };
      },
    };
    const result = await runControl(d, { ...promote, idToken: token });
    expect(verified).toEqual([token]);
    expect(result.reason).toBe('promote: ID token refused: unsigned (alg none)');
    expect(answers[promote.requestId]).toMatchObject({ outcome: 'refused', requestedBy: null });
    // A malformed message that carries a token is logged without it.
    await runControl(d, { ...promote, idToken: token, ful: true });
    expect(JSON.stringify(lines)).not.toContain(token);
    expect(lines.at(-1)).toMatchObject({ fields: { message: { idToken: '[redacted]' } } });
  });
});
