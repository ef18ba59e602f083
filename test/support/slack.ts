// A stand-in for Slack's Web API on the address the local stack gives its functions
// (SWITCHYARD_SLACK_API_URL, StackStatus.slackApiUrl): it answers chat.postMessage as Slack does,
// `{ok: true, ts, channel}` with the channel's ID, and records every request with the token it
// carried. The address is the stack's one, so one test file at a time may run it.
import { createServer, type Server } from 'node:http';
import { waitFor } from '../../infra/local/process.ts';
import type { PostMessageBody } from '../../shared/notify/slack-thread.ts';

export interface SlackPost {
  /** The bearer token of the Authorization header (null without one). */
  token: string | null;
  body: PostMessageBody;
  /** What the stand-in answered: the message's ts and the channel's ID. */
  ts: string;
  channelId: string;
}

export interface SlackStandIn {
  posts: SlackPost[];
  /** Waits until `predicate` holds for the posts (deadline in ms). */
  until(predicate: (posts: SlackPost[]) => boolean, timeoutMs: number, what: string): Promise<void>;
  close(): Promise<void>;
}

/** The ID Slack would answer for a channel: a name maps to a made-up ID, an ID stays itself. */
export const channelIdOf = (channel: string): string =>
  /^[CG][A-Z0-9]{8,}$/.test(channel)
    ? channel
    : `C${Buffer.from(channel.replace(/^#/, '')).toString('hex').toUpperCase().slice(0, 10).padEnd(10, '0')}`;

/** Listens on `apiUrl` (http://127.0.0.1:<port>/api) until closed. */
export async function startSlackStandIn(apiUrl: string): Promise<SlackStandIn> {
  const url = new URL(apiUrl);
  const posts: SlackPost[] = [];
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      if (req.method !== 'POST' || req.url !== `${url.pathname}/chat.postMessage`) {
        res
          .writeHead(404, { 'content-type': 'application/json' })
          .end('{"ok":false,"error":"unknown_method"}');
        return;
      }
      const body = JSON.parse(Buffer.concat(chunks).toString('utf8')) as PostMessageBody;
      const auth = req.headers.authorization;
      const post: SlackPost = {
        token: auth?.startsWith('Bearer ') ? auth.slice(7) : null,
        body,
        ts: `${Math.floor(Date.now() / 1000)}.${String(posts.length + 1).padStart(6, '0')}`,
        channelId: channelIdOf(body.channel),
      };
      posts.push(post);
      res
        .writeHead(200, { 'content-type': 'application/json' })
        .end(JSON.stringify({ ok: true, ts: post.ts, channel: post.channelId }));
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', (err) =>
      reject(new Error(`the Slack stand-in cannot listen on ${url.host}: ${err.message}`)),
    );
    server.listen(Number(url.port), url.hostname, resolve);
  });
  return {
    posts,
    async until(predicate, timeoutMs, what) {
      await waitFor(() => predicate(posts), { timeoutMs, what });
    },
    close: () => {
      server.closeAllConnections();
      return new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
