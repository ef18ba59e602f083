import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseEgressAllow } from '../egress/policy.ts';
import { dependencyOrder } from '../engine/train-graph.ts';
import type { DeliveryOptions } from './deliver.ts';
import type { ReleaseEventData } from './event.ts';
import { notificationsSchema } from './schema.ts';
import { botToken, postMessage, slackAnswer } from './slack-api.ts';
import { broadcast, postMessageBody, threadOf, threadRecordId } from './slack-thread.ts';

const event = (over: Partial<ReleaseEventData> = {}): ReleaseEventData => ({
  releaseId: 'api-3',
  target: 'api',
  number: 3,
  image: `us-docker.pkg.dev/acme/apps/api@sha256:${'ab'.repeat(32)}`,
  tag: 'v1.4.0',
  version: 'v1.4.0',
  index: 1,
  at: '2026-01-01T00:00:00.000Z',
  from: 'Pending',
  to: 'DeployingGreen',
  cause: 'step',
  by: null,
  reason: null,
  analysis: [],
  links: { logs: null },
  ...over,
});

describe('Slack threads', () => {
  it("list a train's members in dependency order, ties by name, whatever order the store gave", () => {
    const members = [
      { name: 'web', dependsOn: ['bff'] },
      { name: 'bff', dependsOn: ['users', 'orders'] },
      { name: 'orders', dependsOn: ['users'] },
      { name: 'users', dependsOn: [] },
      { name: 'admin', dependsOn: ['users', 'gone'] },
    ];
    expect(dependencyOrder(members)).toEqual(['users', 'admin', 'orders', 'bff', 'web']);
    // A cycle (refused at apply) does not loop.
    expect(
      dependencyOrder([
        { name: 'a', dependsOn: ['b'] },
        { name: 'b', dependsOn: ['a'] },
      ]),
    ).toHaveLength(2);
  });

  it('put every event of a release train in one thread, whose parent names the version and its members', () => {
    const t = threadOf(event(), ['users', 'orders', 'api']);
    expect(t.key).toBe('train v1.4.0 users,orders,api');
    expect(threadOf(event({ target: 'users', releaseId: 'users-9' }), ['users', 'orders', 'api']).key).toBe(
      t.key,
    );
    expect(t.parent.text).toBe('Release train v1.4.0: users, orders, api');
    expect(JSON.stringify(t.parent.blocks)).toContain('*Release train v1.4.0: users, orders, api*');
  });

  it('give a release of a target in no train (or of no version) a thread of its own', () => {
    const alone = threadOf(event(), ['api']);
    expect(alone.key).toBe('release api-3');
    expect(alone.parent.text).toBe('api v1.4.0: release api-3');
    const untagged = threadOf(event({ tag: null, version: null }), ['users', 'api']);
    expect(untagged.key).toBe('release api-3');
    expect(untagged.parent.text).toBe('api abababababab: release api-3');
    expect(threadOf(event({ version: '<!here>' }), ['a', 'b']).parent.text).toBe(
      'Release train &lt;!here&gt;: a, b',
    );
  });

  it('reply in the thread, broadcasting failures into the channel', () => {
    const message = { text: 't', blocks: [] };
    expect(postMessageBody('#releases', message)).toEqual({ channel: '#releases', text: 't', blocks: [] });
    const failed = event({ from: 'DeployingGreen', to: 'RollingBack' });
    expect(broadcast(failed)).toBe(true);
    expect(broadcast(event())).toBe(false);
    expect(broadcast(event({ from: 'RolledBack', to: 'RolledBack' }))).toBe(false);
    expect(postMessageBody('C024BE91L', message, { ts: '1.2', alsoInChannel: broadcast(failed) })).toEqual({
      channel: 'C024BE91L',
      text: 't',
      blocks: [],
      thread_ts: '1.2',
      reply_broadcast: true,
    });
    expect(postMessageBody('C1', message, { ts: '1.2', alsoInChannel: false })).not.toHaveProperty(
      'reply_broadcast',
    );
  });

  it('keep one record per channel and thread, "#name" and "name" being one channel', () => {
    const id = threadRecordId('#releases', 'train v1 a,b');
    expect(id).toMatch(/^[0-9a-f]{40}$/);
    expect(threadRecordId('releases', 'train v1 a,b')).toBe(id);
    expect(threadRecordId('#other', 'train v1 a,b')).not.toBe(id);
    expect(threadRecordId('#releases', 'train v1 a,c')).not.toBe(id);
  });
});

describe('Slack notifiers with a bot token (schema)', () => {
  const issues = (slack: unknown) =>
    notificationsSchema
      .safeParse([{ name: 'team', slack }])
      .error?.issues.map((i) => `${i.path.join('.')}: ${i.message}`) ?? [];

  it('accept a token with a channel name or ID', () => {
    expect(issues({ tokenSecret: 'slack-bot', channel: '#releases' })).toEqual([]);
    expect(issues({ tokenSecret: 'slack-bot', channel: 'C024BE91L' })).toEqual([]);
    expect(issues({ webhookSecret: 'slack-hook', channel: '@ana' })).toEqual([]);
  });

  it('refuse both or neither secret, a token without a channel, and what is not a channel', () => {
    const both =
      'must have exactly one of webhookSecret (an incoming webhook) or tokenSecret (a bot token, with channel)';
    expect(issues({ webhookSecret: 'a', tokenSecret: 'b', channel: '#x' })).toEqual([`0.slack: ${both}`]);
    expect(issues({ channel: '#x' })).toEqual([`0.slack: ${both}`]);
    expect(issues({ tokenSecret: 'slack-bot' })).toEqual([
      '0.slack.channel: is required with tokenSecret: name the channel to post in, like #releases or C024BE91L',
    ]);
    expect(issues({ tokenSecret: 'slack-bot', channel: '@ana' })).toEqual([
      '0.slack.channel: must be a channel with tokenSecret (#name or a channel ID), not a person',
    ]);
    expect(issues({ tokenSecret: 'slack-bot', channel: '#Releases' })).toEqual([
      '0.slack.channel: must be a Slack channel name like #releases or a channel ID like C024BE91L',
    ]);
    expect(issues({ tokenSecret: 'xoxb-123-456', channel: '#x', url: 'https://evil.example' })[0]).toMatch(
      /^0\.slack: Unrecognized key/,
    );
  });
});

describe("Slack's Web API", () => {
  const token = 'xoxb-1234-5678-secret';
  const requests: { url: string; headers: IncomingHttpHeaders; body: unknown }[] = [];
  const answers: { status: number; headers?: Record<string, string>; body: string }[] = [];
  let server: Server;
  let api: string;
  const opts: DeliveryOptions = {
    timeoutMs: 2000,
    attempts: 3,
    backoffMs: 10,
    egress: () => parseEgressAllow('127.0.0.0/8'),
  };

  beforeAll(async () => {
    server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        requests.push({
          url: req.url!,
          headers: req.headers,
          body: JSON.parse(Buffer.concat(chunks).toString()),
        });
        const a = answers.shift() ?? { status: 200, body: '{"ok":true,"ts":"1.1","channel":"C1"}' };
        res.writeHead(a.status, { 'content-type': 'application/json', ...a.headers }).end(a.body);
      });
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    api = `http://127.0.0.1:${(server.address() as AddressInfo).port}/api`;
  });
  afterAll(() => new Promise<void>((r) => server.close(() => r())));

  it('post with the token in the Authorization header only, and answer where the message is', async () => {
    requests.length = 0;
    const body = postMessageBody('#releases', { text: 'hi', blocks: [] });
    const posted = await postMessage(api, token, body, opts);
    expect(posted).toEqual({ ok: true, attempts: 1, status: 200, error: null, ts: '1.1', channel: 'C1' });
    expect(requests[0]).toMatchObject({ url: '/api/chat.postMessage', body });
    expect(requests[0]!.headers.authorization).toBe(`Bearer ${token}`);
  });

  it("take an ok:false answer as a failure with Slack's error code, never with the token", async () => {
    answers.push({ status: 200, body: '{"ok":false,"error":"not_in_channel"}' });
    const posted = await postMessage(api, token, postMessageBody('#x', { text: 'hi', blocks: [] }), opts);
    expect(posted).toMatchObject({ ok: false, attempts: 1, status: 200, error: 'not_in_channel' });
    expect(JSON.stringify(posted)).not.toContain(token);
  });

  it("wait for a 429's Retry-After, then try again", async () => {
    requests.length = 0;
    answers.push({
      status: 429,
      headers: { 'retry-after': '1' },
      body: '{"ok":false,"error":"ratelimited"}',
    });
    const t0 = Date.now();
    const posted = await postMessage(api, token, postMessageBody('#x', { text: 'hi', blocks: [] }), opts);
    expect(posted).toMatchObject({ ok: true, attempts: 2, ts: '1.1' });
    expect(Date.now() - t0).toBeGreaterThanOrEqual(1000);
    expect(requests).toHaveLength(2);
  });

  it("read answers that are not Slack's as failures, repeating no text of theirs", () => {
    const ok = { ok: true, attempts: 1, status: 200, error: null };
    expect(slackAnswer({ ...ok, answer: '<html>' }).error).toBe('Slack answered without JSON');
    expect(slackAnswer({ ...ok, answer: `{"ok":false,"error":"bad ${token}"}` }).error).toBe(
      'Slack answered neither ok nor an error code',
    );
    expect(slackAnswer({ ...ok, answer: '{"ok":true,"ts":"1.2"}' })).toEqual({ ...ok, ts: '1.2' });
    expect(
      slackAnswer({ ...ok, ok: false, status: 500, error: 'answered HTTP 500', answer: 'x' }),
    ).not.toHaveProperty('answer');
  });

  it('accept a token of one printable line only', () => {
    expect(botToken(token, 'bot')).toBe(token);
    expect(() => botToken('xoxb-1 2', 'bot')).toThrow('secret "bot" does not hold a Slack bot token');
  });
});
