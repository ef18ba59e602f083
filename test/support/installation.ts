// The local installation's settings that tests change while the stack runs: the notifier secrets
// mounted into the functions (<stateDir>/secrets), which targets may use which of them
// (<stateDir>/secret-grants.json) and the local hosts file the egress policy resolves through before
// DNS (<stateDir>/egress-hosts.json), all read by the functions on every use
// (infra/local/switchyard.ts). Test files run side by side, so each change of a shared file is a
// read-merge-write under a lock file.
import {
  closeSync,
  existsSync,
  mkdirSync,
  openSync,
  readFileSync,
  renameSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { stack, uniqueId } from './stack.ts';

async function merge(file: string, change: (current: Record<string, unknown>) => void): Promise<void> {
  const lock = `${file}.lock`;
  for (let i = 0; ; i++) {
    try {
      closeSync(openSync(lock, 'wx'));
      break;
    } catch {
      if (i > 200) rmSync(lock, { force: true }); // a lock left by a killed run
      await sleep(25);
    }
  }
  try {
    const current = existsSync(file)
      ? (JSON.parse(readFileSync(file, 'utf8')) as Record<string, unknown>)
      : {};
    change(current);
    writeFileSync(`${file}.tmp`, JSON.stringify(current, null, 2));
    renameSync(`${file}.tmp`, file);
  } finally {
    rmSync(lock, { force: true });
  }
}

/** Mounts a new secret holding `value` for the notify function, as Terraform does on GCP (<dir>/<id>/<id>); returns its id. */
export function mountSecret(value: string, prefix = 'slack-hook'): string {
  const id = uniqueId(prefix);
  const dir = join(stack().stateDir, 'secrets', id);
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, id), `${value}\n`);
  return id;
}

/** Maps notifier secret `id` to the targets (or labels) that may use it. */
export function grantSecret(id: string, grant: { targets?: string[]; matchLabels?: Record<string, string> }) {
  return merge(join(stack().stateDir, 'secret-grants.json'), (g) => {
    g[id] = grant;
  });
}

/** Makes `host` resolve to `addresses` for the functions' egress checks. */
export function resolveHost(host: string, addresses: string[]) {
  return merge(join(stack().stateDir, 'egress-hosts.json'), (h) => {
    h[host.toLowerCase()] = addresses;
  });
}
