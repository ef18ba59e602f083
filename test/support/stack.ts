// What a test knows about the local stack that globalSetup started for this run.
import { inject } from 'vitest';

export interface StackInfo {
  projectId: string;
  stateDir: string;
  firestoreEmulatorHost: string;
  pubsubEmulatorHost: string;
  kubeconfig: string;
  prometheusUrl: string;
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
