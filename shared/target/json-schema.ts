// The JSON Schema of a ReleaseTarget for editors (YAML language server, IDEs), generated from the
// zod schema so that the two cannot drift. `node shared/target/json-schema.ts --write` regenerates
// schema/release-target.schema.json; json-schema.test.ts fails when the committed file is stale.
import { readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { z } from 'zod';
import { releaseTargetSchema } from './schema.ts';

/** Where the generated schema is committed. */
export const jsonSchemaFile = join(
  dirname(fileURLToPath(import.meta.url)),
  '..',
  '..',
  'schema',
  'release-target.schema.json',
);

/** Stable URL editors can use to refer to the schema (also its `$id`). */
export const jsonSchemaId = 'https://switchyard.dev/schema/release-target.schema.json';

/**
 * The JSON Schema text (with a final newline) for the document as users WRITE it: fields that
 * have defaults are optional and carry their default. Refinements zod cannot express (the regex
 * of tagFilter compiles, previewService differs from activeService) are checked by
 * `switchyard validate` only.
 */
export function releaseTargetJsonSchema(): string {
  const { $schema, ...rest } = z.toJSONSchema(releaseTargetSchema, { io: 'input', target: 'draft-2020-12' });
  return `${JSON.stringify({ $schema, $id: jsonSchemaId, ...rest }, null, 2)}\n`;
}

// Run as a script: print the schema, or `--write` it to schema/, or `--check` that it is current.
if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const text = releaseTargetJsonSchema();
  if (process.argv.includes('--write')) {
    writeFileSync(jsonSchemaFile, text);
    process.stdout.write(`wrote ${jsonSchemaFile}\n`);
  } else if (process.argv.includes('--check')) {
    let current = '';
    try {
      current = readFileSync(jsonSchemaFile, 'utf8');
    } catch {
      // A missing file is simply out of date.
    }
    if (current !== text) {
      process.stderr.write(
        `${jsonSchemaFile} is out of date: run node shared/target/json-schema.ts --write\n`,
      );
      process.exitCode = 1;
    }
  } else {
    process.stdout.write(text);
  }
}
