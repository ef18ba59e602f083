import { describe, expect, it } from 'vitest';
import { refusalHint } from './control.ts';

describe('refusalHint', () => {
  it('points at history and retry when the release has ended', () => {
    expect(refusalHint('promote', 'api', 'release api-1 is Succeeded')).toBe(
      'the release has ended; `switchyard history api` shows how, and a new push or `switchyard retry api` starts another',
    );
  });

  it('says to watch a release that does not wait for promotion yet', () => {
    expect(
      refusalHint('promote', 'api', 'release api-2 is DeployingGreen and does not wait for promotion'),
    ).toContain('`switchyard watch api`');
  });

  it('gives the command for a release in flight', () => {
    expect(
      refusalHint('restart', 'api', 'release api-2 is in flight; abort it first or wait for it to end'),
    ).toContain('`switchyard abort api`');
  });

  it('says a push starts the first release', () => {
    expect(refusalHint('undo', 'api', 'target api has no earlier revision to go back to')).toContain(
      'switchyard push',
    );
    expect(refusalHint('promote', 'api', 'no release has ended')).toContain('switchyard push');
  });

  it('falls back to get', () => {
    expect(refusalHint('pause', 'api', 'release api-2 is already paused')).toBe(
      '`switchyard get api` shows where the release is',
    );
  });
});
