import { describe, expect, it } from 'vitest';
import { durationSeconds, parseDuration } from './duration.ts';

describe('durations (Go syntax, as Argo Rollouts accepts them)', () => {
  it('reads single and compound units into seconds', () => {
    expect(parseDuration('30s')).toBe(30);
    expect(parseDuration('5m')).toBe(300);
    expect(parseDuration('1h30m')).toBe(5400);
    expect(parseDuration('1m30s')).toBe(90);
    expect(parseDuration('1.5h')).toBe(5400);
    expect(parseDuration('250ms')).toBe(0.25);
    expect(parseDuration('2h45m10s')).toBe(9910);
    expect(parseDuration('0')).toBe(0);
    expect(parseDuration('1500us')).toBeCloseTo(0.0015, 9);
  });

  it('refuses what Go refuses, and negative durations', () => {
    for (const bad of ['', '30', 's', '1x', '-1s', '1 s', '1h-30m', 'PT5M', '1d', '.s', '0s0']) {
      expect(parseDuration(bad), bad).toBeNull();
    }
  });

  it('as a schema field: numbers of seconds, strings, whole seconds where asked', () => {
    expect(durationSeconds().parse('250ms')).toBe(0.25);
    expect(durationSeconds().parse(1.5)).toBe(1.5);
    expect(durationSeconds({ whole: true }).parse('1m30s')).toBe(90);
    expect(durationSeconds({ whole: true }).safeParse('1500ms').success).toBe(false);
    expect(durationSeconds({ whole: true }).safeParse(1.5).success).toBe(false);
    expect(durationSeconds().safeParse('-1s').success).toBe(false);
    expect(durationSeconds().safeParse(-1).success).toBe(false);
  });
});
