// The documents of a ReleaseTarget file as `switchyard apply` sends them to the control function
// (issue 11): each YAML document as written, read as JSON (null for an empty one, so that indexes
// stay those of the file), and the function's own validation of them with the schema the CLI's
// parseReleaseTargets uses. The function never trusts that the sender validated anything.
import { parseAllDocuments } from 'yaml';
import type { AnalysisTemplate } from '../analysis/schema.ts';
import {
  analysisTemplateKind,
  documentKinds,
  kind,
  type ParsedFile,
  type ReleaseTarget,
  type TargetError,
  validateAnalysisTemplate,
  validateReleaseTarget,
} from './schema.ts';

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

function isMapping(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/**
 * Validates documents as sent (documentsOf): each by its kind with the schemas of schema.ts, names
 * unique per kind, at least one document. The same result parseReleaseTargets gives for the file,
 * without lines (there is no file here), or every problem with its `documents[i]` path.
 */
export function validateDocuments(documents: readonly unknown[]): ParsedFile | { errors: TargetError[] } {
  const errors: TargetError[] = [];
  const targets: ReleaseTarget[] = [];
  const templates: AnalysisTemplate[] = [];
  const firstUse = { [kind]: new Map<string, number>(), [analysisTemplateKind]: new Map<string, number>() };
  documents.forEach((data, index) => {
    if (data === null) return;
    const at = `documents[${index}]`;
    if (!isMapping(data)) {
      errors.push({ document: index, path: at, message: 'must be a mapping' });
      return;
    }
    const docKind = data.kind;
    if (docKind !== kind && docKind !== analysisTemplateKind) {
      errors.push({
        document: index,
        path: `${at}.kind`,
        message:
          docKind === undefined
            ? `required: one of ${documentKinds.join(', ')}`
            : `unknown kind ${JSON.stringify(docKind).slice(0, 80)}: must be one of ${documentKinds.join(', ')}`,
      });
      return;
    }
    const name = (data.metadata as { name?: unknown } | null | undefined)?.name;
    if (typeof name === 'string') {
      const first = firstUse[docKind].get(name);
      if (first === undefined) firstUse[docKind].set(name, index);
      else
        errors.push({
          document: index,
          path: `${at}.metadata.name`,
          message: `duplicate ${docKind === kind ? 'target' : 'analysis template'} name "${name}": documents[${first}] already uses it; names must be unique`,
        });
    }
    if (docKind === kind) {
      const result = validateReleaseTarget(data, index);
      if ('errors' in result) errors.push(...result.errors);
      else targets.push(result.target);
    } else {
      const result = validateAnalysisTemplate(data, index);
      if ('errors' in result) errors.push(...result.errors);
      else templates.push(result.template);
    }
  });
  if (errors.length === 0 && targets.length === 0 && templates.length === 0) {
    errors.push({ document: 0, path: '', message: 'the apply holds no ReleaseTarget document' });
  }
  return errors.length > 0 ? { errors } : { targets, templates };
}
