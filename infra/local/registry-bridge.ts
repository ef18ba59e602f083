// The local stack's bridge from its registry's webhook to Pub/Sub topic `gcr` (issue 11): the
// registry POSTs its events here, and each manifest push is published as Artifact Registry would
// publish it (registry-events.ts), to the Pub/Sub emulator the stack's state file names at that
// moment (so a restarted emulator is found). Every message published is appended to
// <dir>/published.jsonl with its message id, for tests that follow a push by its message.
// A failed publish answers 500, and the registry sends the events again. The registry sends its
// push event once the manifest is stored, a moment before it links the tag; Artifact Registry
// publishes once the push is done. So a tagged push is published once the tag resolves to its
// digest (waited for a few seconds at most): else the intake, which checks the tag, could find it
// missing and refuse the push as stale.
// Usage: node infra/local/registry-bridge.ts <stateDir> <dir> <port> <registry host>
import { appendFileSync, mkdirSync, readFileSync } from 'node:fs';
import { createServer } from 'node:http';
import { join } from 'node:path';
import { manifestTypes } from '../../shared/registry/image.ts';
import { type GcrMessage, gcrMessagesOf } from './registry-events.ts';

const [stateDir, dir, portText, host] = process.argv.slice(2);
if (!stateDir || !dir || !host || !(Number(portText) > 0)) {
  process.stderr.write('usage: registry-bridge.ts <stateDir> <dir> <port> <registry host>\n');
  process.exit(2);
}
mkdirSync(dir, { recursive: true });
const journal = join(dir, 'published.jsonl');

function stackFile(): {
  projectId: string;
  parts: { pubsub?: { host: string }; registry?: { host: string } };
} {
  return JSON.parse(readFileSync(join(stateDir!, 'stack.json'), 'utf8'));
}

function pubsub(): { host: string; projectId: string } {
  const file = stackFile();
  if (!file.parts.pubsub) throw new Error('the stack has no Pub/Sub emulator running');
  return { host: file.parts.pubsub.host, projectId: file.projectId };
}

/** Waits (at most `timeoutMs`) until the message's tag resolves to its digest in the registry. */
async function tagLinked(message: GcrMessage, timeoutMs = 5000): Promise<boolean> {
  if (!message.tag) return true;
  const registry = stackFile().parts.registry?.host;
  if (!registry) return false;
  const [name, tag] = [
    message.tag.slice(host!.length + 1, message.tag.lastIndexOf(':')),
    message.tag.slice(message.tag.lastIndexOf(':') + 1),
  ];
  const digest = message.digest.slice(message.digest.indexOf('@') + 1);
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const r = await fetch(`http://${registry}/v2/${name}/manifests/${tag}`, {
      method: 'HEAD',
      headers: { accept: manifestTypes.join(', ') },
      signal: AbortSignal.timeout(1000),
    }).catch(() => null);
    if (r?.headers.get('docker-content-digest') === digest) return true;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  return false;
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
          if (!(await tagLinked(message)))
            process.stderr.write(`bridge: ${message.tag} still unlinked; published anyway\n`);
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
