// firebase.json declares the emulators as the local stack runs them: the Firestore and Pub/Sub
// emulators on loopback, at the ports the default stack (`switchyard dev up`) takes when free, so
// firebase-tools and the stack agree on where the emulators are.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { firebasePorts, repoRoot } from './stack.ts';

interface FirebaseJson {
  emulators: Record<string, unknown> & {
    firestore?: { host?: string; port?: number };
    pubsub?: { host?: string; port?: number };
    ui?: { enabled?: boolean };
    singleProjectMode?: boolean;
  };
}

const firebase = JSON.parse(readFileSync(join(repoRoot, 'firebase.json'), 'utf8')) as FirebaseJson;
const emulatorsSource = readFileSync(join(repoRoot, 'infra/local/components/emulators.ts'), 'utf8');

// The keys firebase-tools accepts under `emulators` (its schema has additionalProperties: false).
const knownKeys = [
  'functions',
  'firestore',
  'pubsub',
  'auth',
  'database',
  'hosting',
  'storage',
  'eventarc',
  'tasks',
  'dataconnect',
  'apphosting',
  'extensions',
  'hub',
  'logging',
  'ui',
  'singleProjectMode',
];

describe('firebase.json', () => {
  it('configures the two emulators of the local stack, on loopback as the stack starts them', () => {
    for (const key of Object.keys(firebase.emulators)) expect(knownKeys).toContain(key);
    for (const name of ['firestore', 'pubsub'] as const) {
      const e = firebase.emulators[name];
      expect(e?.host, name).toBe('127.0.0.1');
      expect(Number.isInteger(e?.port) && e!.port! > 1024 && e!.port! < 65536, name).toBe(true);
    }
    // emulators.ts binds both emulators to that host.
    expect(emulatorsSource).toContain("'--host=127.0.0.1'");
    expect(firebase.emulators.firestore?.port).not.toBe(firebase.emulators.pubsub?.port);
    // The stack runs neither the emulator UI nor other emulators, and one project per stack.
    expect(firebase.emulators.ui?.enabled).toBe(false);
    expect(firebase.emulators.singleProjectMode).toBe(true);
  });

  it('gives the default stack its emulator ports', () => {
    expect(firebasePorts()).toEqual({
      firestore: firebase.emulators.firestore?.port,
      pubsub: firebase.emulators.pubsub?.port,
    });
    // Each port is asked for by the part of that name (emulators.ts: ctx.preferredPorts[spec.name]).
    expect(emulatorsSource).toContain('ctx.preferredPorts[spec.name]');
    expect(emulatorsSource).toMatch(/name: 'firestore',\s+launcher/);
    expect(emulatorsSource).toMatch(/name: 'pubsub',\s+launcher/);
  });
});
