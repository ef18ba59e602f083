import { describe, expect, it } from 'vitest';
import { image, release } from '../views/fixtures.ts';
import { describeWanted, pick } from './watch.ts';

describe('the release watch follows', () => {
  const newest = release({ id: 'api-3', number: 3, image: image('3'), tag: 'v3' });
  const older = release({ id: 'api-2', number: 2, image: image('2'), tag: 'v2' });
  const retried = release({ id: 'api-1', number: 1, image: image('2'), tag: 'v2' });

  it('is the newest release, or the newest of the image or tag asked for', () => {
    expect(pick([newest, older, retried], {})?.id).toBe('api-3');
    expect(pick([newest, older, retried], { tag: 'v2' })?.id).toBe('api-2');
    expect(pick([newest, older, retried], { image: image('2'), tag: 'v2' })?.id).toBe('api-2');
    expect(pick([newest, older], { tag: 'v4' })).toBeUndefined();
  });

  it('is described for the waiting message', () => {
    expect(describeWanted({})).toBe('');
    expect(describeWanted({ tag: 'v2' })).toBe('with tag v2');
    expect(describeWanted({ image: 'r@sha256:1', tag: 'v2' })).toBe('of r@sha256:1 with tag v2');
  });
});
