import { describe, expect, it } from 'vitest';
import { artifactRegistryMessage, controlMessage, describeIssues, stepMessage } from './messages.ts';

const promote = {
  command: 'promote',
  target: 'api',
  requestedBy: 'ana@example.com',
  requestId: 'req-00000001',
};

function refusal(schema: { safeParse(v: unknown): { success: boolean; error?: unknown } }, value: unknown) {
  const r = schema.safeParse(value);
  if (r.success) throw new Error(`accepted ${JSON.stringify(value)}`);
  return describeIssues(r.error as Parameters<typeof describeIssues>[0]);
}

describe('control messages', () => {
  it('accept what the CLI sends, with full defaulting to false', () => {
    expect(controlMessage.parse(promote)).toEqual({ ...promote, full: false });
    expect(controlMessage.parse({ ...promote, release: 'api-12', full: true, reason: 'ok' }).full).toBe(true);
    expect(
      controlMessage.parse({ ...promote, requestId: '0b4f7c0e-7c6f-4d7e-9a51-2f3e7a1c9d10' }),
    ).toBeTruthy();
  });

  it('refuse an unknown field by name: a typo of full is no promote without --full', () => {
    expect(refusal(controlMessage, { ...promote, ful: true })).toBe(
      'ful: unknown field (did you mean full?); a control message has only command, target, release, full, requestedBy, reason, requestId, idToken',
    );
    expect(refusal(controlMessage, { ...promote, Reason: 'x', extra: 1 })).toMatch(
      /^Reason, extra: unknown fields \(Reason: did you mean reason\?\); /,
    );
  });

  it('list a bounded number of unknown fields, each cut short', () => {
    const many = Object.fromEntries(Array.from({ length: 1000 }, (_, i) => [`${'k'.repeat(100)}${i}`, i]));
    const text = refusal(controlMessage, { ...promote, ...many });
    expect(text).toContain(' and 995 more: unknown fields');
    expect(text.length).toBeLessThan(500);
  });

  it.each([
    ['a/b', 'must not contain "/"'],
    ['.', 'must not be "."'],
    ['..', 'must not be ".."'],
    ['__x__', 'must not start and end with "__"'],
    ['api 1', 'must not contain " "'],
    ['x'.repeat(101), 'has 101 characters'],
  ])('refuse release %j: %s, saying what an id may be', (release, problem) => {
    expect(refusal(controlMessage, { ...promote, release })).toBe(
      `release: ${problem}: a release id is at most 100 letters, digits, ".", "_", "-", ":" or "@" (not ".", ".." nor __…__: it names a Firestore document)`,
    );
  });

  it.each(['req/0000001', '..', '__req-000__', 'short', 'x'.repeat(101), 'req\n0000001'])(
    'refuse request id %j',
    (requestId) => {
      expect(refusal(controlMessage, { ...promote, requestId })).toMatch(
        /^requestId: .*: a request id is 8 to 100 letters, digits/,
      );
    },
  );

  it.each(['a/b/c', 'API', '..', '__api__', '-api', 'a'.repeat(64), ''])('refuse target %j', (target) => {
    expect(refusal(controlMessage, { ...promote, target })).toMatch(
      /^target: must be (a DNS-1123 label|at most 63)/,
    );
  });

  it('say what is missing and what a wrong value must be', () => {
    expect(
      refusal(controlMessage, { target: 'api', full: 'yes', requestedBy: '', requestId: 'req-00000001' }),
    ).toBe(
      'command: required: one of promote, abort, retry, restart, undo, pause, resume; full: must be true or false, not "yes"; requestedBy: must not be empty: say who asks',
    );
    expect(refusal(controlMessage, { ...promote, command: 'promot' })).toBe(
      'command: must be one of promote, abort, retry, restart, undo, pause, resume, not "promot"',
    );
    expect(refusal(controlMessage, [promote])).toBe(
      '(message): must be a control message (a JSON object), not [{"command":"promote","target":"api","re…',
    );
  });
});

describe('step messages', () => {
  const step = { kind: 'step', releaseId: 'api-3', target: 'api', step: 'analyze', seq: 4 };

  it('let unknown fields through (a newer function may hand over to an older one)', () => {
    expect(stepMessage.parse({ ...step, later: 1 })).toMatchObject(step);
  });

  it('refuse ids that are no Firestore document ids', () => {
    expect(refusal(stepMessage, { ...step, releaseId: 'api/3' })).toMatch(
      /^releaseId: must not contain "\/"/,
    );
    expect(refusal(stepMessage, { ...step, target: 'x/y' })).toMatch(/^target: must be a DNS-1123 label/);
  });
});

describe('Artifact Registry notifications', () => {
  it('let fields Google may add through', () => {
    expect(artifactRegistryMessage.parse({ action: 'INSERT', tag: 'a/b:v1', new: true })).toMatchObject({
      action: 'INSERT',
    });
  });
});
