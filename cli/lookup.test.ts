import { describe, expect, it } from 'vitest';
import type { Store } from '../shared/adapters/store.ts';
import { exitCodes } from './exit-codes.ts';
import { checkName, lookup, requireTarget } from './lookup.ts';

/** A store that fails the test if a name reaches it. */
const untouchable = new Proxy({} as Store, {
  get: (_, name) => () => Promise.reject(new Error(`looked up with ${String(name)}`)),
});

describe('names a command is given', () => {
  it('accept target names, and release ids where a release may be named', () => {
    expect(() => checkName('api')).not.toThrow();
    expect(() => checkName('api-3', 'target or release')).not.toThrow();
    expect(() => checkName('api-3', 'release')).not.toThrow();
  });

  it('refuse, with exit code 2 and what a name may be, one that names no Firestore document', async () => {
    await expect(requireTarget(untouchable, 'a/b')).rejects.toMatchObject({
      exitCode: exitCodes.invalidInput,
      message:
        '"a/b" is not a target name: a target name must be a DNS-1123 label: lower-case letters, digits and "-", starting and ending with a letter or digit; `switchyard targets` lists targets',
    });
    await expect(lookup(untouchable, '..')).rejects.toMatchObject({
      exitCode: exitCodes.invalidInput,
      message: expect.stringMatching(
        /^"\.\." is not a target or release name: must not be "\.\.": a release id is/,
      ),
    });
    expect(() => checkName('api/3', 'release')).toThrow(
      /^"api\/3" is not a release id: must not contain "\/".*`switchyard list` lists releases$/,
    );
  });
});
