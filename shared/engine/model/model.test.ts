// Model-based test of the pure release engine, for blue-green (with and without a preview Service)
// and the gatewayAPI canary: (i) what serves keeps ready endpoints and (ii) no command scales down or
// deletes what a serving Service depends on, checked after every event and at every command; (iii)
// after a drain every release ends, and the records agree with the cluster (record vs cluster,
// capacity, leaks, lost pushes). One property per invariant and family; the other families are in
// model.canary.test.ts (a file of its own so that both cores run). Also: a quiet release succeeds
// in every family. The harness, the families, the findings and the environment: harness.ts.
import { describe, expect, it } from 'vitest';
import {
  ending,
  endingGroup,
  families,
  known,
  property,
  run,
  runsOf,
  serving,
  servingGroup,
} from './harness.ts';
import type { Scenario } from './scenario.ts';

const mine = new Set(['blue-green', 'blue-green with previewService', 'canary, gatewayAPI HTTPRoute']);

describe(servingGroup, () => {
  for (const [name, scenario, evs] of families.filter(([name]) => mine.has(name))) {
    for (const kind of serving) {
      const fails = known(kind, name);
      property(servingGroup, `${name}: ${kind}`, [kind], scenario, evs, runsOf(fails), fails);
    }
  }
});

describe(endingGroup, () => {
  for (const [name, scenario, evs] of families.filter(([name]) => mine.has(name))) {
    for (const kind of ending) {
      const fails = known(kind, name);
      property(endingGroup, `${name}: ${kind}`, [kind], scenario, evs, runsOf(fails), fails);
    }
  }
});

// The model itself: a release with nothing going wrong succeeds everywhere, with no violation.
describe('engine model: a quiet release succeeds in every family', () => {
  const base = { preview: false, promotion: 'auto', router: 'none', replicas: 3, hpa: true } as const;
  const cases: Scenario[] = [];
  for (const start of ['plain', 'adopted', 'history'] as const) {
    for (const lag of [false, true]) {
      cases.push(
        { ...base, strategy: 'blueGreen', start, lag },
        { ...base, strategy: 'blueGreen', start, lag, drain: true },
        { ...base, strategy: 'blueGreen', preview: true, promotion: 'manual', start, lag },
        ...(['gatewayAPI', 'nginx', 'none'] as const).map(
          (router): Scenario => ({ ...base, strategy: 'canary', router, start, lag }),
        ),
      );
    }
  }
  it.each(
    cases.map((s) => [
      `${s.strategy} ${s.preview ? 'preview ' : ''}${s.router} ${s.start}${s.lag ? ' lag' : ''}${s.drain ? ' drain' : ''}`,
      s,
    ]),
  )('%s', (_, s) => {
    const sys = run(s as Scenario, [], new Set([...serving, ...ending]));
    expect(sys.violations).toEqual([]);
    expect([...sys.releases.values()].map((r) => r.phase)).toEqual(['Succeeded']);
  });
});
