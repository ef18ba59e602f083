// The local stack's bridge from its registry's webhook to Pub/Sub topic `gcr` (issue 11): the
// registry POSTs its events here, and each manifest push is published as Artifact Registry would
// publish it (registry-events.ts), to the Pub/Sub emulator the stack's state file names at that
// moment (so a restarted emulator is found). Every message published is appended to
// <dir>/published.jsonl with its message id, for tests that follow a push by its message.
// A failed publish answers 500, and the registry sends the events again.
// Usage: node infra/local/registry-bridge.ts <stateDir> <dir> <port> <registry host>
import { appendFileSync, mkdirSync, readFileSync } from 'node:fs';
import { createServer } from 'node:http';
import { join } from 'node:path';
import { gcrMessagesOf } from './registry-events.ts';

const [stateDir, dir, portText, host] = process.argv.slice(2);
if (!stateDir || !dir || !host || !(Number(portText) > 0)) {
  process.stderr.write('usage: registry-bridge.ts <stateDir> <dir> <port> <registry host>\n');
  process.exit(2);
}
mkdirSync(dir, { recursive: true });
const journal = join(dir, 'published.jsonl');

function pubsub(): { host: string; projectId: string } {
  const file = JSON.parse(readFileSync(join(stateDir!, 'stack.json'), 'utf8')) as {
    projectId: string;
    parts: { pubsub?: { host: string } };
  };
  if (!file.parts.pubsub) throw new Error('the stack has no Pub/Sub emulator running');
  return { host: file.parts.pubsub.host, projectId: file.projectId };
}

async function publish(message: object): Promise<string> {
  const p = pubsub();
  const r = await fetch(`http://${p.host}/v1/projects/${p.projectId}/topics/gcr:publish`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ messages: [{ data: Buffer.from(JSON.stringify(message)).toString('base64') }] }),
    signal: AbortSignal.timeout(5000),
  });
  if (r.status !== 200) throw new Error(`publishing to gcr: HTTP ${r.status} ${await r.text()}`);
  const { messageIds } = (await r.json()) as { messageIds: string[] };
  return messageIds[0]!;
}

const server = createServer((req, res) => {
  if (req.method === 'GET' && req.url === '/healthz') {
    res.writeHead(200).end('ok');
    return;
  }
  if (req.method !== 'POST' || req.url !== '/events') {
    res.writeHead(404).end();
    return;
  }
  const chunks: Buffer[] = [];
  req.on('data', (c: Buffer) => chunks.push(c));
  req.on('end', () => {
    void (async () => {
      try {
        const messages = gcrMessagesOf(JSON.parse(Buffer.concat(chunks).toString('utf8')), host);
        for (const message of messages) {
          const messageId = await publish(message);
          appendFileSync(journal, `${JSON.stringify({ messageId, message, at: Date.now() })}\n`);
          process.stdout.write(`published ${messageId}: ${JSON.stringify(message)}\n`);
        }
        res.writeHead(200).end();
      } catch (err) {
        process.stderr.write(`bridge: ${err instanceof Error ? err.message : String(err)}\n`);
        res.writeHead(500).end();
      }
    })();
  });
});
server.listen(Number(portText), '127.0.0.1', () =>
  process.stdout.write(`registry bridge ready on ${portText}\n`),
);
process.on('SIGTERM', () => server.close(() => process.exit(0)));
