import { describe, expect, it } from 'vitest';
import { drawView, shortImage } from './draw.ts';
import * as f from './fixtures.ts';
import { buildView, type ViewInput } from './release-view.ts';

/** A blue-green release waiting for promotion: blue serves, green is up behind the preview Service. */
function awaitingPromotion(patch: Partial<ViewInput> = {}): ViewInput {
  const release = f.release({
    phase: 'AwaitingPromotion',
    reason: 'waiting for promote',
    analysis: { pre: f.run('pre', [f.metric('error-rate')]), post: null },
  });
  return {
    targetName: 'api',
    target: f.blueGreenTarget(),
    workload: f.workload(),
    release,
    releases: [release, f.firstRelease()],
    snapshot: f.snapshot(
      [
        { ref: f.blue, desired: 3, ready: 3 },
        { ref: f.green, desired: 3, ready: 2 },
      ],
      { api: f.blue.revision, 'api-preview': f.green.revision },
    ),
    clusterError: null,
    ...patch,
  };
}

describe('get: the tree of a blue-green release', () => {
  it('draws the header, the revisions with replicas and roles, and the analysis with its last measurement', () => {
    expect(drawView(buildView(awaitingPromotion()), f.now)).toBe(
      [
        'Name:            api-2',
        'Namespace:       shop',
        'Target:          api (workload api, cluster context:kwok)',
        'Strategy:        BlueGreen',
        'Status:          ॥ AwaitingPromotion',
        'Message:         waiting for promote',
        'Trigger:         push, tag v2',
        'Images:          us-docker.pkg.dev/acme/apps/api:v1@sha256:111111111111 (stable, active)',
        '                 us-docker.pkg.dev/acme/apps/api:v2@sha256:222222222222 (preview)',
        '',
        'NAME                      KIND         STATUS               INFO',
        '⟳ api                     Target       ॥ AwaitingPromotion  api-2  5m',
        '├──# revision:bbbbbbbbbb                                    from api-2',
        '│  ├──⧉ api-bbbbbbbbbb    Deployment   ◌ Progressing        preview  ready:2/3  v2  sha256:222222222222',
        '│  └──α pre-promotion     AnalysisRun  ✔ Successful         ✔ 2',
        '│     └──◇ error-rate     Metric       ✔ Successful         prometheus  2/3 ✔ 2  last #2 ✔ [0.02] (4m ago)',
        '└──# revision:aaaaaaaaaa                                    from api-1',
        '   └──⧉ api-aaaaaaaaaa    Deployment   ✔ Healthy            stable,active  ready:3/3  v1  sha256:111111111111',
      ].join('\n'),
    );
  });

  it('gives the same data structured for -o json: revisions newest first with digest, tag and roles', () => {
    const view = buildView(awaitingPromotion());
    expect(view.release).toMatchObject({
      id: 'api-2',
      phase: 'AwaitingPromotion',
      tag: 'v2',
      green: f.green,
    });
    expect(view.revisions).toEqual([
      expect.objectContaining({
        deployment: 'api-bbbbbbbbbb',
        digest: `sha256:${'2'.repeat(64)}`,
        tag: 'v2',
        release: 'api-2',
        desired: 3,
        ready: 2,
        status: 'Progressing',
        roles: ['preview'],
      }),
      expect.objectContaining({ deployment: 'api-aaaaaaaaaa', tag: 'v1', roles: ['stable', 'active'] }),
    ]);
    expect(view.analysis).toEqual([
      expect.objectContaining({
        name: 'pre-promotion',
        phase: 'Successful',
        revision: f.green.revision,
        metrics: [
          expect.objectContaining({
            name: 'error-rate',
            successful: 2,
            last: expect.objectContaining({ number: 2, phase: 'Successful', value: [0.02] }),
          }),
        ],
      }),
    ]);
    // Data only: the JSON round-trips.
    expect(JSON.parse(JSON.stringify(view))).toEqual(view);
  });

  it('marks a switched release: green active and stable, blue scaled down, no preview role once ended', () => {
    const release = f.release({ phase: 'Succeeded', switchedAt: f.t0 + 60_000 });
    const view = buildView(
      awaitingPromotion({
        release,
        workload: f.workload({ stable: f.green, inFlight: null }),
        snapshot: f.snapshot(
          [
            { ref: f.blue, desired: 0, ready: 0 },
            { ref: f.green, desired: 3, ready: 3 },
          ],
          { api: f.green.revision, 'api-preview': f.green.revision },
        ),
      }),
    );
    expect(view.revisions?.map((r) => [r.deployment, r.status, r.roles])).toEqual([
      ['api-bbbbbbbbbb', 'Healthy', ['stable', 'active', 'preview']],
      ['api-aaaaaaaaaa', 'ScaledDown', []],
    ]);
    const text = drawView(view, f.now);
    expect(text).toContain('Status:          ✔ Succeeded');
    expect(text).toMatch(/⧉ api-aaaaaaaaaa\s+Deployment\s+• ScaledDown\s+ready:0\/0/);
  });

  it('still draws the release and its analysis when the cluster cannot be read, and says why', () => {
    const view = buildView(
      awaitingPromotion({ snapshot: null, clusterError: 'cluster not reachable: ECONNREFUSED' }),
    );
    expect(view.revisions).toBeNull();
    const text = drawView(view, f.now);
    expect(text).toContain('Images:          us-docker.pkg.dev/acme/apps/api:v1@sha256:111111111111 (blue)');
    expect(text).toMatch(/^└──α pre-promotion\s+AnalysisRun/m);
    expect(text.split('\n').at(-1)).toBe('Revisions not shown: cluster not reachable: ECONNREFUSED');
  });

  it("lists the plain Deployment a target adopted, and puts the new revision first among one release's", () => {
    const adopting = f.release({
      adoption: { deployment: 'api', replicas: 3, revision: f.blue },
      phase: 'AwaitingPromotion',
    });
    const snap = f.snapshot(
      [
        { ref: f.blue, desired: 3, ready: 3 },
        { ref: f.green, desired: 3, ready: 3 },
      ],
      { api: f.blue.revision },
    );
    snap.plainDeployment = { name: 'api', replicas: 0, template: {} };
    // The blue revision is named so it would sort first by name: the release's new one still leads.
    const view = buildView(awaitingPromotion({ release: adopting, releases: [adopting], snapshot: snap }));
    expect(view.revisions?.map((r) => r.revision)).toEqual([f.green.revision, f.blue.revision]);
    expect(drawView(view, f.now)).toMatch(
      /^└──⧉ api +Deployment +• ScaledDown +plain Deployment {2}replicas:0 {2}adopted; kept at zero$/m,
    );
  });

  it('names a target without releases', () => {
    const text = drawView(
      buildView(awaitingPromotion({ release: null, releases: [], workload: f.workload({ inFlight: null }) })),
      f.now,
    );
    expect(text).toContain('Name:            api (no release yet)');
    expect(text).toMatch(/⟳ api\s+Target\s+• NoRelease/);
  });
});

describe('get: the tree of a canary release', () => {
  const steps = [{ setWeight: 50 }, { pause: {} }, { setWeight: 100 }];
  function canary(inForce: { weight: number; accepted: boolean; message?: string } | null) {
    const release = f.release({
      phase: 'AwaitingPromotion',
      canary: {
        step: 1,
        stepSince: f.t0,
        weight: 50,
        headerRoute: null,
        scale: null,
        inForce: inForce && { ...inForce, headerRoute: null },
        background: f.run('background', [f.metric('latency', { phase: 'Running', nextAt: f.now })], {
          phase: 'Running',
          finishedAt: null,
        }),
        stepRuns: [],
      },
    });
    return buildView({
      targetName: 'api',
      target: f.canaryTarget(steps),
      workload: f.workload(),
      release,
      releases: [release, f.firstRelease()],
      snapshot: f.snapshot(
        [
          { ref: f.blue, desired: 4, ready: 4 },
          { ref: f.green, desired: 2, ready: 2 },
        ],
        { api: f.blue.revision, 'api-canary': f.green.revision },
      ),
      clusterError: null,
    });
  }

  it('shows the step (done/total and the one running), the weight asked and the weight in force', () => {
    const view = canary({ weight: 50, accepted: true });
    expect(view.canary).toEqual({
      stepIndex: 1,
      steps: 3,
      current: 'pause (until promote)',
      setWeight: 50,
      actualWeight: 50,
      accepted: true,
      headerRoute: null,
      routerMessage: null,
    });
    const text = drawView(view, f.now);
    expect(text).toContain(
      [
        'Strategy:        Canary',
        '  Step:          1/3  pause (until promote)',
        '  SetWeight:     50',
        '  ActualWeight:  50',
      ].join('\n'),
    );
    expect(text).toMatch(/⧉ api-bbbbbbbbbb\s+Deployment\s+✔ Healthy\s+canary {2}ready:2\/2/);
    expect(text).toMatch(/⧉ api-aaaaaaaaaa\s+Deployment\s+✔ Healthy\s+stable {2}ready:4\/4/);
    expect(text).toMatch(/α background\s+AnalysisRun\s+◌ Running/);
  });

  it('says when the router has not accepted the weight yet, and when it was never read', () => {
    expect(
      drawView(canary({ weight: 0, accepted: false, message: 'HTTPRoute not Accepted' }), f.now),
    ).toContain('  ActualWeight:  0 (not accepted yet: HTTPRoute not Accepted)');
    expect(drawView(canary(null), f.now)).toContain('  ActualWeight:  not read yet');
    expect(drawView(canary({ weight: 33, accepted: true, message: 'by replica ratio' }), f.now)).toContain(
      '  ActualWeight:  33 (by replica ratio)',
    );
  });
});

describe('shortImage', () => {
  it('keeps the repository and tag and shortens the digest', () => {
    expect(shortImage(f.image('a'), 'v3')).toBe(`${f.repo}:v3@sha256:aaaaaaaaaaaa`);
    expect(shortImage(f.image('a'), null)).toBe(`${f.repo}@sha256:aaaaaaaaaaaa`);
  });
});
