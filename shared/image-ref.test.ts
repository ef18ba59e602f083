import { describe, expect, it } from 'vitest';
import { isTag, parseImageRef, splitImageRef } from './image-ref.ts';

const digest = `sha256:${'0a'.repeat(32)}`;

describe('image references', () => {
  it.each([
    ['us-docker.pkg.dev/acme/apps/api', { repository: 'us-docker.pkg.dev/acme/apps/api' }],
    ['localhost:5000/api:v1', { repository: 'localhost:5000/api', tag: 'v1' }],
    [`nginx:1.27@${digest}`, { repository: 'nginx', tag: '1.27', digest }],
    [`localhost:5000/api@${digest}`, { repository: 'localhost:5000/api', digest }],
  ])('splits %s; a colon before the last slash is a port', (ref, parts) => {
    expect(splitImageRef(ref)).toEqual(parts);
    expect(parseImageRef(ref)).toEqual(parts);
  });

  it('says which part is malformed', () => {
    expect(parseImageRef('Acme/api')).toBe('Acme/api: "Acme/api" is not a repository name');
    expect(parseImageRef('api:.v1')).toBe('api:.v1: ".v1" is not a tag');
    expect(parseImageRef('api@sha256:abc')).toBe('api@sha256:abc: "sha256:abc" is not a sha256 digest');
    expect(parseImageRef('api:')).toBe('api:: "" is not a tag');
  });

  it('tags: up to 128 characters, not starting with "." or "-"', () => {
    expect(isTag('v1.2.3_rc-1')).toBe(true);
    expect(isTag('x'.repeat(128))).toBe(true);
    expect(isTag('x'.repeat(129))).toBe(false);
    expect(isTag('-v1')).toBe(false);
  });
});
