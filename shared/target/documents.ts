// The documents of a ReleaseTarget file as `switchyard apply` sends them to the control function
// (issue 11): each YAML document as written, read as JSON (null for an empty one, so that indexes
// stay those of the file), and the function's own validation of them, on the code path the CLI's
// parseReleaseTargets takes (validate.ts). The function never trusts that the sender validated anything.
import { parseAllDocuments } from 'yaml';
import type { TargetError } from './problems.ts';
import { type ParsedFile, validateFile } from './validate.ts';

/**
 * The documents of a file that parseReleaseTargets found valid, as JSON values in file order: an
 * empty document (comments only, a trailing `---`) is null. Aliases are expanded as bounded there.
 */
export function documentsOf(text: string): unknown[] {
  return parseAllDocuments(text, { uniqueKeys: true }).map((doc) => {
    if (doc.contents === null) return null;
    const value = doc.toJS({ maxAliasCount: 100 }) as unknown;
    return value === undefined ? null : value;
  });
}

/**
 * Validates documents as sent (documentsOf) as validateFile does: each by its kind, names unique
 * per kind, at least one document. The same result parseReleaseTargets gives for the file, without
 * lines (there is no file here), or every problem with its `documents[i]` path.
 */
export function validateDocuments(documents: readonly unknown[]): ParsedFile | { errors: TargetError[] } {
  return validateFile(
    documents.map((data) => ({ data })),
    'the apply',
  );
}
