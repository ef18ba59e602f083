import { describe, expect, it } from 'vitest';
import { refusalHint } from './control.ts';

describe('refusalHint: what to do, by the refusal code', () => {
  it('points at history and retry when the release has ended', () => {
    expect(refusalHint('promote', 'api', 'ended')).toBe(
      'the release has ended; `switchyard history api` shows how, and a new push or `switchyard retry api` starts another',
    );
  });

  it('says to watch a release that does not wait for promotion yet', () => {
    expect(refusalHint('promote', 'api', 'wrong-phase')).toContain('`switchyard watch api`');
  });

  it('gives the command for a release in flight', () => {
    expect(refusalHint('restart', 'api', 'in-flight')).toContain('`switchyard abort api`');
  });

  it('says a push starts the first release', () => {
    expect(refusalHint('undo', 'api', 'no-release')).toContain('switchyard push');
  });

  it('says how to sign in, and whom to ask for access', () => {
    expect(refusalHint('promote', 'api', 'unauthenticated')).toContain('application-default login');
    expect(refusalHint('promote', 'api', 'forbidden')).toContain('spec.access');
  });

  it('falls back to get, also for an answer recorded without a code', () => {
    expect(refusalHint('pause', 'api', 'wrong-phase')).toBe(
      '`switchyard get api` shows where the release is',
    );
    expect(refusalHint('pause', 'api', undefined)).toBe('`switchyard get api` shows where the release is');
  });
});
