// Where the local stack lives, apart from the stack itself, so the CLI finds it without loading the
// stack's parts.
import { join, resolve } from 'node:path';

export const repoRoot = resolve(import.meta.dirname, '../..');

/** Where `switchyard dev` keeps its stack unless SWITCHYARD_STACK_DIR says otherwise. */
export function defaultStateDir(): string {
  return process.env.SWITCHYARD_STACK_DIR ?? join(repoRoot, '.switchyard', 'stack');
}
