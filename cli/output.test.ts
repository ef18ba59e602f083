import { describe, expect, it } from 'vitest';
import { age, table, toYaml } from './output.ts';

describe('output helpers', () => {
  it('writes an object that appears twice in full, without YAML anchors', () => {
    const roles = ['stable'];
    expect(toYaml({ a: roles, b: roles })).toBe('a:\n  - stable\nb:\n  - stable\n');
  });

  it('aligns columns by display width, symbols included', () => {
    expect(
      table(
        ['A', 'B'],
        [
          ['✔ ok', 'x'],
          ['longer', 'y'],
        ],
      ),
    ).toBe('A       B\n✔ ok    x\nlonger  y');
  });

  it('says ages like kubectl', () => {
    expect([5_000, 300_000, 7_200_000, 200_000_000].map((ms) => age(0, ms))).toEqual([
      '5s',
      '5m',
      '2h',
      '2d',
    ]);
  });
});
