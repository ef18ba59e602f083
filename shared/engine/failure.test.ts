// What a failed command makes of a release (failure.ts): the serving guard's refusals are recorded
// and looked at again with a growing pause, up to maxAttempts; a refused or exhausted write sends a
// release with both revisions back to stable and ends one without them Failed; an ended release
// drops its cleanup. Each keeps the commands the pass ran before it failed in the history.
import { describe, expect, it } from 'vitest';
import { type CommandFailure, decideCommandFailed, maxAttempts } from './failure.ts';
import { pushedRelease } from './model/fixtures.ts';
import { emptyWorkload, type Release } from './release.ts';

const now = 1_000_000;
const stable = { revision: 'aaaaaaaaaa', deployment: 'api-aaaaaaaaaa', image: 'app@sha256:1' };
const candidate = { revision: 'bbbbbbbbbb', deployment: 'api-bbbbbbbbbb', image: 'app@sha256:2' };
const workload = { ...emptyWorkload('api'), inFlight: 'api-1' };

function release(patch: Partial<Release> = {}): Release {
  return {
    ...pushedRelease('app@sha256:2', 0),
    id: 'api-1',
    phase: 'ScalingDown',
    stable,
    candidate,
    ...patch,
  } as Release;
}

const failure = (kind: CommandFailure['kind'], ran: string[] = []): CommandFailure => ({
  kind,
  message: 'Service api selects revision aaaaaaaaaa',
  ran,
});

describe('decideCommandFailed()', () => {
  it('a guard refusal is recorded in the history, counted, and looked at again after a pause that doubles', () => {
    const first = decideCommandFailed(
      release(),
      workload,
      failure('guard', ['SelectRevision api -> bbbbbbbbbb']),
      now,
    );
    expect(first.release.phase).toBe('ScalingDown');
    expect(first.release.reason).toBe(
      'refused by the serving guard: Service api selects revision aaaaaaaaaa',
    );
    expect(first.release.attempts?.count).toBe(1);
    expect(first.release.wake?.at).toBe(now + 2000);
    expect(first.release.history.at(-1)).toMatchObject({
      cause: 'guard',
      commands: ['SelectRevision api -> bbbbbbbbbb'],
    });
    const third = decideCommandFailed(
      release({ attempts: { count: 2, error: 'x' } }),
      workload,
      failure('guard'),
      now,
    );
    expect(third.release.wake?.at).toBe(now + 8000);
    expect(third.workload).toBe(workload);
  });

  it(`after ${maxAttempts} guard refusals in a row an active release ends Failed, freeing the workload`, () => {
    const out = decideCommandFailed(
      release({ attempts: { count: maxAttempts - 1, error: 'x' } }),
      workload,
      failure('guard'),
      now,
    );
    expect(out.release.phase).toBe('Failed');
    expect(out.release.reason).toBe(
      `gave up after ${maxAttempts} attempts: refused by the serving guard: Service api selects revision aaaaaaaaaa`,
    );
    expect(out.workload.inFlight).toBeNull();
  });

  it('a refused write sends a release with both revisions back to stable, to end RolledBack', () => {
    const out = decideCommandFailed(release({ phase: 'Switching' }), workload, failure('refused'), now);
    expect(out.release.phase).toBe('RollingBack');
    expect(out.release.rollbackOutcome).toBe('RolledBack');
    expect(out.release.reason).toBe('Kubernetes refused: Service api selects revision aaaaaaaaaa');
    expect(out.release.wake?.at).toBe(now);
  });

  it('an exhausted retry says how many attempts it took; a release without its candidate ends Failed', () => {
    const pending = release({ phase: 'Pending', candidate: null, attempts: { count: 9, error: 'x' } });
    const out = decideCommandFailed(pending, workload, failure('exhausted'), now);
    expect(out.release.phase).toBe('Failed');
    expect(out.release.reason).toBe('gave up after 10 attempts: Service api selects revision aaaaaaaaaa');
    expect(out.workload.inFlight).toBeNull();
  });

  it('a rollback that fails ends Failed rather than rolling back again', () => {
    const out = decideCommandFailed(release({ phase: 'RollingBack' }), workload, failure('refused'), now);
    expect(out.release.phase).toBe('Failed');
  });

  it("an ended release's failed cleanup is dropped with the reason; the release stays as it ended", () => {
    const ended = release({
      phase: 'Aborted',
      cleanup: { deployment: candidate.deployment, at: now, action: 'scale-down' },
    });
    for (const kind of ['guard', 'refused'] as const) {
      const out = decideCommandFailed(ended, workload, failure(kind), now);
      expect(out.release.phase).toBe('Aborted');
      expect(out.release.cleanup).toBeNull();
      expect(out.release.wake).toBeNull();
    }
  });
});
