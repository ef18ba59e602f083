import { describe, expect, it } from 'vitest';
import { checkDependencies } from './dependencies.ts';
import { doc, file, targetsOf } from './fixtures.ts';

/** Targets read from one file, each `[name, dependsOn]`. */
const targets = (...ts: [string, string[]][]) =>
  targetsOf(
    file(
      ...ts.map(([name, deps]) =>
        doc((d) => {
          d.metadata.name = name;
          if (deps.length) d.spec.dependsOn = deps;
        }),
      ),
    ),
  );

describe('checkDependencies()', () => {
  it('accepts dependencies on stored targets and on targets of the same file', () => {
    const stored = new Map([['backend', []]]);
    expect(
      checkDependencies(targets(['bff', ['backend']], ['frontend', ['bff', 'backend']]), stored),
    ).toEqual([]);
  });

  it('names an unknown target at its entry, with the line it is on', () => {
    const [error, ...rest] = checkDependencies(
      targets(['bff', ['backend', 'nowhere']]),
      new Map([['backend', []]]),
    );
    expect(rest).toEqual([]);
    expect(error).toMatchObject({
      document: 0,
      path: 'documents[0].spec.dependsOn[1]',
      line: expect.any(Number),
    });
    expect(error?.message).toMatch(/^no target "nowhere" to depend on/);
  });

  it('names a cycle closed by the file over the stored graph, once', () => {
    const stored = new Map([
      ['a', []],
      ['b', ['a']],
      ['c', ['b']],
    ]);
    const errors = checkDependencies(targets(['a', ['c']]), stored);
    expect(errors.map((e) => e.message)).toEqual([
      'dependsOn makes a cycle: a -> c -> b -> a; a train must have an order, remove one of these dependencies',
    ]);
  });

  it('reports a cycle within the file once, and a target that depends on itself', () => {
    const pair = checkDependencies(targets(['x', ['y']], ['y', ['x']]), new Map());
    expect(pair.map((e) => e.message.split(';')[0])).toEqual(['dependsOn makes a cycle: x -> y -> x']);
    const self = checkDependencies(targets(['s', ['s']]), new Map());
    expect(self.map((e) => e.message.split(';')[0])).toEqual(['dependsOn makes a cycle: s -> s']);
  });

  it('an applied target replaces its stored edges: dropping a dependency can break a stored cycle-to-be', () => {
    const stored = new Map([
      ['a', ['b']],
      ['b', []],
    ]);
    expect(checkDependencies(targets(['a', []], ['b', ['a']]), stored)).toEqual([]);
  });
});
