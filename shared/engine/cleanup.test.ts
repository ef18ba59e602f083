// The sweep's moves at rest (cleanup.ts): the stable revision back at the full size the last release
// knew when that release ended without switching (a replica-ratio canary superseded half way, its
// successor aborted before it started), and left alone otherwise.
import { describe, expect, it } from 'vitest';
import type { WorkloadSnapshot } from '../kubernetes/types.ts';
import { stableToFullSize } from './cleanup.ts';
import { digest, pushedRelease } from './model/fixtures.ts';
import { emptyWorkload, type Release, type Workload } from './release.ts';

const stable = { revision: 'r2', deployment: 'api-r2', image: digest('2') };
const workload: Workload = { ...emptyWorkload('api'), stable, lastRelease: 'api-2', releases: 2 };

function snapshot(desired: number): WorkloadSnapshot {
  const status = {
    name: 'api-r2',
    exists: true,
    desired,
    ready: desired,
    available: desired,
    progressDeadlineExceeded: false,
    images: {},
    revision: 'r2',
    template: {},
  };
  return { plainDeployment: null, revisions: { r2: status }, services: { api: { selector: {} } } };
}

/** The last release as stored (a loose shape: any phase, with or without revisions). */
const ended = (patch: Partial<Release>): Release =>
  ({ ...pushedRelease(digest('3')), id: 'api-2', phase: 'Aborted', replicas: 4, ...patch }) as Release;

describe('stableToFullSize', () => {
  it('scales the stable revision back to the size a release that ended without switching knew', () => {
    expect(stableToFullSize(workload, snapshot(2), ended({}))).toEqual([
      { type: 'ScaleRevision', deployment: 'api-r2', replicas: 4 },
    ]);
  });

  it('leaves it alone at full size, after a switch, while a release is in flight, or with no release', () => {
    expect(stableToFullSize(workload, snapshot(4), ended({}))).toEqual([]);
    expect(stableToFullSize(workload, snapshot(2), ended({ phase: 'Succeeded', switchedAt: 5 }))).toEqual([]);
    expect(stableToFullSize({ ...workload, inFlight: 'api-3' }, snapshot(2), ended({}))).toEqual([]);
    expect(stableToFullSize(workload, snapshot(2), ended({ phase: 'Progressing' }))).toEqual([]);
    expect(stableToFullSize(workload, snapshot(2), null)).toEqual([]);
  });
});
