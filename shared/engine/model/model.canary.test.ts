// Model-based test of the pure release engine, for the nginx and replica-ratio canaries and undo
// after earlier releases: the same properties as model.test.ts (which says what they are).
// The harness, the families, the findings and the environment: harness.ts.
import { describe } from 'vitest';
import { ending, endingGroup, families, known, property, runsOf, serving, servingGroup } from './harness.ts';

const mine = new Set([
  'canary, nginx canary Ingress',
  'canary, replica ratio (no router)',
  'undo after earlier releases',
]);

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
