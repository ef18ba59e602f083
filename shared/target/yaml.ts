// The YAML front door of a Switchyard file (`switchyard apply`, `validate`): its documents read
// with line numbers, so that every problem validate.ts finds points at its line in the file.
import { isAlias, isMap, isPair, isScalar, isSeq, LineCounter, type Node, parseAllDocuments } from 'yaml';
import { describeValue, formatPath, type TargetError } from './problems.ts';
import { type FileDocument, isMapping, type ParsedFile, validateFile } from './validate.ts';

type ParsedDocument = ReturnType<typeof parseAllDocuments>[number];
type YamlError = ParsedDocument['errors'][number];

/**
 * The 1-based line of the node at `path` in a YAML document. When the path ends inside a mapping,
 * the line of the key; when part of the path is missing (a required field), the line of the
 * deepest ancestor that exists, which is where the field belongs.
 */
function lineOf(doc: ParsedDocument, path: readonly PropertyKey[], lines: LineCounter): number | undefined {
  let node: unknown = doc.contents;
  let offset = (doc.contents as Node | null)?.range?.[0] ?? doc.range?.[0] ?? 0;
  for (const seg of path) {
    if (isAlias(node)) node = node.resolve(doc);
    if (isMap(node)) {
      const pair = node.items.find(
        (p) => isPair(p) && isScalar(p.key) && String(p.key.value) === String(seg),
      );
      if (!pair) break;
      offset = (pair.key as Node).range?.[0] ?? offset;
      node = pair.value;
    } else if (isSeq(node) && typeof seg === 'number') {
      const item = node.items[seg] as Node | undefined;
      if (!item) break;
      offset = item.range?.[0] ?? offset;
      node = item;
    } else {
      break;
    }
  }
  return lines.linePos(offset).line;
}

/** A YAML syntax error's first line, without the "at line L, column C" that is reported apart. */
function yamlMessage(message: string): string {
  return (message.split('\n')[0] ?? message).replace(/ at line \d+, column \d+:?$/, '');
}

function syntaxErrors(errors: readonly YamlError[], document: number, lines: LineCounter): TargetError[] {
  return errors.map((e) => {
    const { line, col } = lines.linePos(e.pos[0]);
    return { document, path: formatPath(document, []), message: yamlMessage(e.message), line, column: col };
  });
}

/** One YAML document as validateFile takes it: its data with its lines, or what the text got wrong. */
function readDocument(doc: ParsedDocument, index: number, lines: LineCounter): FileDocument {
  // A document that is not valid YAML has no trustworthy content: its schema errors would only
  // be noise, so only the syntax errors are reported for it.
  if (doc.errors.length > 0) return { errors: syntaxErrors(doc.errors, index, lines) };
  // Nothing but comments, or the empty document after a trailing `---`.
  if (doc.contents === null || (isScalar(doc.contents) && doc.contents.value === null)) return { data: null };
  const line = (path: readonly PropertyKey[]) => lineOf(doc, path, lines);
  const refused = (message: string): FileDocument => ({
    errors: [{ document: index, path: formatPath(index, []), message, line: line([]) }],
  });
  let data: unknown;
  try {
    // Bounded alias expansion: a "billion laughs" document fails here instead of eating memory.
    data = doc.toJS({ maxAliasCount: 100 });
  } catch (err) {
    return refused(err instanceof Error ? err.message : String(err));
  }
  // The file is the user's own: say what the document holds instead (validateFile does not echo).
  if (!isMapping(data)) return refused(`must be a mapping, not ${describeValue(data)}`);
  return { data, line };
}

/**
 * Parses a file of ReleaseTarget and AnalysisTemplate documents (separated by `---`), each
 * validated by its `kind` (validateFile). Returns every target and named template with its
 * defaults applied, or every problem of every document: YAML syntax errors (with line and column),
 * schema errors with their path and line, unknown kinds, and names used twice in the file (targets
 * and templates have a name space each). Empty documents (a trailing `---`, comments only) are
 * skipped but still counted in document indexes. Whether the strategies' analysis references name
 * existing templates is checked apart, by checkTemplateReferences, since a named template may have
 * been applied before. `fileName` only names the file in messages about the file as a whole.
 */
export function parseReleaseTargets(text: string, fileName: string): ParsedFile | { errors: TargetError[] } {
  const lines = new LineCounter();
  const docs = parseAllDocuments(text, { lineCounter: lines, prettyErrors: true, uniqueKeys: true });
  if ('empty' in docs) return validateFile([{ errors: syntaxErrors(docs.errors, 0, lines) }], fileName);
  return validateFile(
    docs.map((doc, index) => readDocument(doc, index, lines)),
    fileName,
  );
}
