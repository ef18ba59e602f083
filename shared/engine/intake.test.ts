// Push intake's tag filter: RE2, so a filter that is exponential for a backtracking engine cannot
// hold the push transaction; a stored filter RE2 cannot run is a recorded reason, not a crash.
import { describe, expect, it } from 'vitest';
import type { ParsedPush } from './intake.ts';
import { parsePush, refusal } from './intake.ts';
import { blueGreenTarget, digest, repo } from './model/fixtures.ts';
import type { EngineTarget } from './target.ts';

const target = (tagFilter: string): EngineTarget =>
  blueGreenTarget(
    {},
    { image: { repository: repo, tagFilter, untagged: 'ignore' }, progressDeadlineSeconds: 600 },
  );

const push = (tag: string): ParsedPush => ({ repository: repo, image: digest('a'), tag });

describe('push intake tagFilter', () => {
  it('refuses a 128-character tag against ^v?(\\d+\\.?)+$ at once, and releases one that matches', () => {
    const t = target('^v?(\\d+\\.?)+$');
    const miss = `v${'1'.repeat(126)}x`;
    expect(refusal(t, push(miss))).toBe(`tag ${miss} does not match tagFilter ^v?(\\d+\\.?)+$ of target api`);
    expect(refusal(t, push(`v${'2.'.repeat(63)}1`))).toBeNull();
  });

  it('records a stored filter RE2 cannot run as the reason, naming the problem', () => {
    expect(refusal(target('^v(?=\\d)'), push('v1'))).toMatch(
      /^tagFilter \^v\(\?=\\d\) of target api cannot be run \(lookarounds .*\): fix it and apply the target again$/,
    );
  });
});

describe('push intake: the image reference of a notification', () => {
  const digest = `sha256:${'0123456789abcdef'.repeat(4)}`;
  const repo = 'us-docker.pkg.dev/acme/apps/api';
  const insert = (d: string, tag?: string) =>
    parsePush({ action: 'INSERT', digest: d, ...(tag ? { tag } : {}) });

  it('splits repository, digest and tag; a registry port is not a tag', () => {
    expect(insert(`${repo}@${digest}`, `${repo}:v1.2.3`)).toEqual({
      repository: repo,
      image: `${repo}@${digest}`,
      tag: 'v1.2.3',
    });
    expect(insert(`localhost:5000/apps/api@${digest}`, 'localhost:5000/apps/api:v1')).toEqual({
      repository: 'localhost:5000/apps/api',
      image: `localhost:5000/apps/api@${digest}`,
      tag: 'v1',
    });
    expect(insert(`${repo}@${digest}`)).toEqual({ repository: repo, image: `${repo}@${digest}` });
  });

  it('refuses what is not an image by sha256 digest, or a tag of another repository', () => {
    expect(insert(`${repo}@sha256:short`)).toMatch(/not an image reference by sha256 digest/);
    expect(insert(`${repo}:v1`)).toMatch(/not an image reference by sha256 digest/);
    expect(insert(`${repo}@${digest}`, `${repo}-worker:v1`)).toMatch(/tag of another repository/);
    expect(insert(`${repo}@${digest}`, `${repo}/sub:v1`)).toMatch(/tag of another repository/);
    expect(insert(`${repo}@${digest}`, `${repo}:`)).toMatch(/not an image reference with a tag/);
  });
});
