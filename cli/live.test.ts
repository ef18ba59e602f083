import { describe, expect, it } from 'vitest';
import { LiveRegion } from './live.ts';

function screen(columns = 40, rows = 10) {
  const writes: string[] = [];
  return { writes, out: { columns, rows, write: (s: string) => writes.push(s) } };
}

describe('LiveRegion', () => {
  it('writes the first frame as is, then moves up over it and clears before the next', () => {
    const { writes, out } = screen();
    const region = new LiveRegion(out);
    region.render('a\nb\nc');
    region.render('d');
    region.render('e\nf');
    expect(writes).toEqual(['a\nb\nc\n', '\x1b[3A\r\x1b[0Jd\n', '\x1b[1A\r\x1b[0Je\nf\n']);
  });

  it('cuts lines to the width and the frame to the height, so the count of rows stays exact', () => {
    const { writes, out } = screen(20, 5);
    const region = new LiveRegion(out);
    region.render(`${'x'.repeat(30)}\n1\n2\n3\n4\n5\n6`);
    expect(writes[0]).toBe(`${'x'.repeat(18)}…\n1\n2\n…\n`);
    region.render('y');
    expect(writes[1]).toBe('\x1b[4A\r\x1b[0Jy\n');
  });
});

describe('LiveRegion with an unchanged frame', () => {
  it('writes nothing, so a terminal does not flicker', () => {
    const { writes, out } = screen();
    const region = new LiveRegion(out);
    region.render('a');
    region.render('a');
    expect(writes).toEqual(['a\n']);
  });
});
