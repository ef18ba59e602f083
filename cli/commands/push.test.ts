import { describe, expect, it } from 'vitest';
import { exitCodes } from '../exit-codes.ts';
import { pushCommand } from './push.ts';

const image = `us-docker.pkg.dev/acme/apps/api@sha256:${'a'.repeat(64)}`;

/** Runs `switchyard push <args>` up to the point where it would publish. */
const push = (...args: string[]) => pushCommand().exitOverride().parseAsync(args, { from: 'user' });

describe('switchyard push', () => {
  it('refuses an image that is not by digest, before publishing anything', async () => {
    await expect(push('us-docker.pkg.dev/acme/apps/api:v1')).rejects.toMatchObject({
      exitCode: exitCodes.invalidInput,
      message: expect.stringMatching(/is not an image by digest/),
    });
  });

  it.each(['bad tag', '', '.v1', 'x'.repeat(129), 'v1:x'])(
    'refuses --tag %j, which the intake would ignore',
    async (tag) => {
      await expect(push(image, '--tag', tag)).rejects.toMatchObject({
        exitCode: exitCodes.invalidInput,
        message: `--tag ${JSON.stringify(tag)} is not a tag: up to 128 letters, digits, "_", "." and "-", not starting with "." or "-"`,
      });
    },
  );
});
