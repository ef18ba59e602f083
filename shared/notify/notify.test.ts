import { describe, expect, it } from 'vitest';
import { createRelease, emptyWorkload, type Release } from '../engine/release.ts';
import { type ReleaseEventData, releaseEvent, releaseEventType, wanted } from './event.ts';
import { notificationsSchema } from './schema.ts';
import { escapeMrkdwn, slackMessage, versionOf } from './slack.ts';

const release = (): Release => {
  const r = createRelease(
    emptyWorkload('api'),
    {
      target: 'api',
      targetGeneration: 1,
      trigger: { kind: 'push', messageId: 'm1' },
      image: `us-docker.pkg.dev/acme/apps/api@sha256:${'ab'.repeat(32)}`,
      tag: 'us-docker.pkg.dev/acme/apps/api:v2',
    },
    1_700_000_000_000,
  );
  return {
    ...r,
    phase: 'RolledBack',
    history: [
      ...r.history,
      { at: 1_700_000_001_000, from: 'Pending', to: 'DeployingGreen', cause: 'step' },
      {
        at: 1_700_000_002_000,
        from: 'DeployingGreen',
        to: 'RollingBack',
        cause: 'analysis',
        reason: 'error-rate failed: 0.2 > 0.05 <b>',
      },
      { at: 1_700_000_003_000, from: 'RollingBack', to: 'RolledBack', cause: 'step' },
      {
        at: 1_700_000_004_000,
        from: 'RolledBack',
        to: 'RolledBack',
        cause: 'promote',
        by: 'ana@acme',
        reason: 'refused: ended',
      },
    ],
  };
};

const dataOf = (r: Release, i: number): ReleaseEventData =>
  releaseEvent(r, i, { projectId: 'acme', local: false }).data;

describe('release events', () => {
  it('are CloudEvents 1.0 with an id per history entry, the target as source, and the entry as data', () => {
    const r = release();
    const e = releaseEvent(r, 2, { projectId: 'acme', local: false });
    expect(e).toMatchObject({
      specversion: '1.0',
      id: 'api-1:2',
      type: releaseEventType,
      source: '//switchyard.dev/projects/acme/targets/api',
      subject: 'releases/api-1',
      time: '2023-11-14T22:13:22.000Z',
      datacontenttype: 'application/json',
    });
    expect(e.data).toMatchObject({
      releaseId: 'api-1',
      index: 2,
      from: 'DeployingGreen',
      to: 'RollingBack',
      cause: 'analysis',
      by: null,
      tag: 'us-docker.pkg.dev/acme/apps/api:v2',
    });
    expect(e.data.links.logs).toContain('project=acme');
    expect(releaseEvent(r, 2, { projectId: 'acme', local: true }).data.links.logs).toBeNull();
  });

  it("carry the release's version, which every member of a release train shares: its tag, or the versionGroup of it", () => {
    expect(dataOf({ ...release(), tag: 'backend-7', version: '7' }, 1).version).toBe('7');
    expect(dataOf({ ...release(), tag: 'v2' }, 1).version).toBe('v2');
    const { tag: _, ...untagged } = release();
    expect(dataOf(untagged as Release, 1).version).toBeNull();
  });

  it('filters: groups and phase names, refusals only for "all"', () => {
    const r = release();
    const started = dataOf(r, 0);
    const rollingBack = dataOf(r, 2);
    const rolledBack = dataOf(r, 3);
    const refusal = dataOf(r, 4);
    expect(wanted(['transitions'], started)).toBe(true);
    expect(wanted(['started'], started)).toBe(true);
    expect(wanted(['failures'], started)).toBe(false);
    expect(wanted(['failures'], rollingBack)).toBe(true);
    expect(wanted(['finished'], rollingBack)).toBe(false);
    expect(wanted(['finished'], rolledBack)).toBe(true);
    expect(wanted(['RolledBack'], rolledBack)).toBe(true);
    expect(wanted(['Succeeded', 'waiting'], rolledBack)).toBe(false);
    expect(wanted(['transitions', 'failures', 'RolledBack'], refusal)).toBe(false);
    expect(wanted(['all'], refusal)).toBe(true);
  });
});

describe('Slack messages', () => {
  it('name the target, the version by tag, the change and the reason, with mrkdwn escaped', () => {
    const m = slackMessage(dataOf(release(), 2), '#releases');
    expect(m.text).toBe('api v2: DeployingGreen → RollingBack (error-rate failed: 0.2 &gt; 0.05 &lt;b&gt;)');
    const json = JSON.stringify(m.blocks);
    expect(json).toContain('*Target*\\napi');
    expect(json).toContain('*Version*\\nv2');
    expect(json).toContain('*Reason*\\nerror-rate failed: 0.2 &gt; 0.05 &lt;b&gt;');
    expect(json).toContain('channel: #releases');
    expect(json).toContain('|logs>');
    expect(m.blocks.at(-1)).toMatchObject({ type: 'context' });
  });

  it('summarise the analysis: each run, each metric with its last measurement', () => {
    const r = release();
    r.analysis.pre = {
      kind: 'pre',
      phase: 'Failed',
      startedAt: 1,
      finishedAt: 2,
      message: 'metric error-rate failed',
      metrics: [
        {
          spec: { name: 'error-rate' } as never,
          phase: 'Failed',
          measurements: [
            { index: 0, phase: 'Successful', value: 0.01, startedAt: 1 },
            { index: 1, phase: 'Failed', value: [0.2], startedAt: 2 },
          ],
          successful: 1,
          failed: 1,
          inconclusive: 0,
          errors: 0,
          consecutiveErrors: 0,
          nextAt: null,
        },
      ],
    };
    const d = dataOf(r, 2);
    expect(d.analysis).toEqual([
      {
        kind: 'pre',
        phase: 'Failed',
        message: 'metric error-rate failed',
        metrics: [{ name: 'error-rate', phase: 'Failed', last: '[0.2]', measurements: 2, failed: 1 }],
      },
    ]);
    expect(JSON.stringify(slackMessage(d).blocks)).toContain(
      '*pre analysis: Failed* (metric error-rate failed)\\n• error-rate: Failed, 2 measured, 1 failed, last [0.2]',
    );
  });

  it('show the short digest when the image had no tag, and who asked', () => {
    const r = release();
    delete r.tag;
    expect(versionOf(dataOf(r, 0))).toBe('abababababab');
    expect(JSON.stringify(slackMessage(dataOf(r, 4)).blocks)).toContain('by: ana@acme');
    expect(escapeMrkdwn('a & <b>')).toBe('a &amp; &lt;b&gt;');
  });
  it('cannot be made to mention @channel or link anywhere by who asked or why', () => {
    const r = release();
    r.history[4] = {
      ...r.history[4]!,
      by: '<!channel>',
      reason: 'hi <!here|here> <@U123> <https://evil.example|docs> & more',
    };
    const m = slackMessage(dataOf(r, 4));
    const all = JSON.stringify(m);
    expect(all).not.toMatch(/<!|<@|<https:\/\/evil/);
    expect(m.text).toContain('&lt;!here|here&gt; &lt;@U123&gt; &lt;https://evil.example|docs&gt; &amp; more');
    expect(all).toContain('by: &lt;!channel&gt;');
  });
});

describe('notifications schema', () => {
  it('accepts Slack by secret and webhooks by URL or secret, with filters defaulting to transitions', () => {
    const parsed = notificationsSchema.parse([
      { name: 'team', slack: { webhookSecret: 'slack-hook' } },
      { name: 'audit', on: ['all'], webhook: { url: 'https://audit.acme.dev/switchyard' } },
      { name: 'oncall', on: ['failures', 'AwaitingPromotion'], webhook: { urlSecret: 'pager_hook' } },
    ]);
    expect(parsed[0]!.on).toEqual(['transitions']);
  });

  it('refuses what would leak or not work, saying what to write instead', () => {
    const issues = (value: unknown) =>
      notificationsSchema.safeParse(value).error?.issues.map((i) => `${i.path.join('.')}: ${i.message}`) ??
      [];
    expect(
      issues([{ name: 'a', slack: { webhookSecret: 'https://hooks.slack.com/services/T/B/X' } }]),
    ).toEqual([
      '0.slack.webhookSecret: must be a Secret Manager secret id (letters, digits, "-" and "_"), not a URL or a resource name',
    ]);
    expect(issues([{ name: 'a', webhook: { url: 'http://audit.acme.dev/' } }])).toEqual([
      '0.webhook.url: must use https (plain http is allowed for localhost only)',
    ]);
    expect(issues([{ name: 'a', webhook: { url: 'https://169.254.169.254/latest/meta-data/' } }])).toEqual([
      "0.webhook.url: 169.254.169.254 is a cloud metadata server: Switchyard never sends requests there (no allow-list can open it); use the service's own address",
    ]);
    expect(issues([{ name: 'a', webhook: {} }])).toEqual([
      '0.webhook: must have exactly one of url or urlSecret',
    ]);
    expect(issues([{ name: 'a', webhook: { url: 'https://x.dev' }, slack: { webhookSecret: 's' } }])).toEqual(
      ['0: must have exactly one of slack or webhook'],
    );
    expect(issues([{ name: 'a', on: ['everything'], webhook: { url: 'https://x.dev' } }])[0]).toMatch(
      /^0\.on\.0: /,
    );
    expect(
      issues([
        { name: 'a', webhook: { url: 'https://x.dev' } },
        { name: 'a', webhook: { url: 'https://y.dev' } },
      ]),
    ).toEqual([': notifier names must be unique']);
  });
});
