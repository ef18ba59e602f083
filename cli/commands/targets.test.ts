import { describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { maxApplyMessageBytes } from '../../shared/messages.ts';
import { CliError, exitCodes } from '../exit-codes.ts';
import { applyMessageOf } from './targets.ts';

/** A parsed file as readTargets gives it (only its text counts here). */
const file = (text: string) => ({ ok: true as const, file: 'big.yaml', text, targets: [], templates: [] });

describe('the apply message', () => {
  it('carries the documents as written, in file order (null for an empty one), signed, with a request id', async () => {
    const text = `${stringify({ kind: 'ReleaseTarget', metadata: { name: 'api' } })}---\n# nothing\n`;
    const msg = await applyMessageOf(file(text), 'token');
    expect(msg).toMatchObject({
      command: 'apply',
      documents: [{ kind: 'ReleaseTarget', metadata: { name: 'api' } }, null],
      source: 'big.yaml',
      idToken: 'token',
      requestId: expect.stringMatching(/^[0-9a-f-]{36}$/),
    });
  });

  it('is refused before it is sent when it would not fit in one Pub/Sub message (10 MB), saying to split the file', async () => {
    const text = stringify({ kind: 'AnalysisTemplate', spec: { query: 'x'.repeat(maxApplyMessageBytes) } });
    const refused = await applyMessageOf(file(text), 'token').catch((err: unknown) => err);
    expect(refused).toBeInstanceOf(CliError);
    expect((refused as CliError).exitCode).toBe(exitCodes.invalidInput);
    expect((refused as CliError).message).toMatch(
      /^big\.yaml: 10\.0 MB as an apply message, over the 9\.98 MB one Pub\/Sub message holds; nothing was applied: split it/,
    );
    const fits = stringify({
      kind: 'AnalysisTemplate',
      spec: { query: 'x'.repeat(maxApplyMessageBytes - 2000) },
    });
    await expect(applyMessageOf(file(fits), 'token')).resolves.toMatchObject({ command: 'apply' });
  });
});
