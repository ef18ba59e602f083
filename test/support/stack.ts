// What a test knows about the local stack that globalSetup started for this run.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { inject } from 'vitest';

export interface StackInfo {
  projectId: string;
  stateDir: string;
  firestoreEmulatorHost: string;
  pubsubEmulatorHost: string;
  kubeconfig: string;
  prometheusUrl: string;
  /** The stack's ID-token issuer (infra/local/issuer.ts); a private stack shares the run's. */
  issuerUrl: string;
}

declare module 'vitest' {
  export interface ProvidedContext {
    stack: StackInfo;
  }
}

/** The running stack (started once per test run by test/setup/global.ts). */
export function stack(): StackInfo {
  return inject('stack');
}

/** A short unique id for a test's own namespace, project or topic names. */
export function uniqueId(prefix: string): string {
  return `${prefix}-${Date.now().toString(36)}-${Math.random().toString(36).slice(2, 6)}`;
}

/**
 * The stack's container registry (infra/local/components/registry.ts), read from its state file:
 * its URL, and the journal where its bridge appends each message it published on `gcr`.
 */
export function registryOf(on: StackInfo = stack()): { url: string; journal: string } {
  const file = JSON.parse(readFileSync(join(on.stateDir, 'stack.json'), 'utf8')) as {
    parts: { registry?: { host: string; dir: string } };
  };
  const registry = file.parts.registry;
  if (!registry) throw new Error(`the stack in ${on.stateDir} has no registry running`);
  return { url: `http://${registry.host}`, journal: join(registry.dir, 'published.jsonl') };
}

/**
 * Where the stack's functions reach Slack's Web API (StackStatus.slackApiUrl), read from its state
 * file: an address the stack only reserved, for a test's stand-in (test/support/slack.ts) to listen on.
 */
export function slackApiOf(on: StackInfo = stack()): string {
  const file = JSON.parse(readFileSync(join(on.stateDir, 'stack.json'), 'utf8')) as {
    parts: { functions?: { ownEnv?: Record<string, string> } };
  };
  const url = file.parts.functions?.ownEnv?.SWITCHYARD_SLACK_API_URL;
  if (!url)
    throw new Error(
      `the stack in ${on.stateDir} gives its functions no Slack API address: run dev down, then up`,
    );
  return url;
}
