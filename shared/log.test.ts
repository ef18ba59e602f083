import { describe, expect, it } from 'vitest';
import { logger, maxFieldChars } from './log.ts';

function lines() {
  const out: Record<string, unknown>[] = [];
  const log = logger({ service: 'switchyard' }, (l) => out.push(JSON.parse(l)));
  return { log, out };
}

describe('logger', () => {
  it('writes one Cloud Logging line with severity, message, time, fields and labels', () => {
    const { log, out } = lines();
    log.with({ releaseId: 'api-1', target: 'api' }).warn('step failed', { step: 'switch' });
    expect(out).toEqual([
      {
        severity: 'WARNING',
        message: 'step failed',
        time: expect.stringMatching(/^\d{4}-\d\d-\d\dT/),
        service: 'switchyard',
        releaseId: 'api-1',
        target: 'api',
        step: 'switch',
        'logging.googleapis.com/labels': { releaseId: 'api-1', target: 'api' },
      },
    ]);
  });

  it('never lets a field replace the message, severity or time: the field is kept under fields', () => {
    const { log, out } = lines();
    const data = { command: 'promote', ful: true };
    log.with({ time: 'base' }).warn('malformed control message: ful: unknown field', {
      message: data,
      severity: 'DEBUG',
      fields: 'mine',
      'logging.googleapis.com/labels': { forged: 'x' },
    });
    const [line] = out;
    expect(line).toMatchObject({
      severity: 'WARNING',
      message: 'malformed control message: ful: unknown field',
      fields: {
        message: data,
        severity: 'DEBUG',
        time: 'base',
        fields: 'mine',
        'logging.googleapis.com/labels': { forged: 'x' },
      },
    });
    expect(line?.time).toMatch(/^\d{4}-/);
    expect(line?.['logging.googleapis.com/labels']).toBeUndefined();
  });

  it('cuts a huge field, so that the line stays one Cloud Logging accepts', () => {
    const { log, out } = lines();
    log.info('dropped', { message: { data: 'x'.repeat(1_000_000) }, note: 'y'.repeat(100_000) });
    const line = out[0] as { message: string; fields: { message: string }; note: string };
    expect(line.message).toBe('dropped');
    expect(line.fields.message).toMatch(/… \(cut: 1000011 characters in all\)$/);
    expect(line.fields.message.length).toBeLessThan(maxFieldChars + 100);
    expect(line.note).toMatch(/… \(cut: 100000 characters in all\)$/);
  });

  it('keeps a field named __proto__ as a field', () => {
    const { log, out } = lines();
    log.info('x', JSON.parse('{"__proto__": {"a": 1}}'));
    expect(Object.getOwnPropertyDescriptor(out[0], '__proto__')?.value).toEqual({ a: 1 });
  });
});
