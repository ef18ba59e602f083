// The committed JSON Schema for editors is exactly what the zod schema generates today.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { jsonSchemaFile, releaseTargetJsonSchema } from './json-schema.ts';

describe('schema/release-target.schema.json', () => {
  it('is up to date with the zod schema (regenerate: node shared/target/json-schema.ts --write)', () => {
    expect(readFileSync(jsonSchemaFile, 'utf8')).toBe(releaseTargetJsonSchema());
  });

  it('describes the document strictly: unknown fields are not allowed, required fields are listed', () => {
    const schema = JSON.parse(releaseTargetJsonSchema());
    expect(schema.additionalProperties).toBe(false);
    expect(schema.required).toEqual(['apiVersion', 'kind', 'metadata', 'spec']);
    const blueGreen = schema.properties.spec.properties.strategy.properties.blueGreen;
    expect(blueGreen.additionalProperties).toBe(false);
    expect(blueGreen.required).toEqual(['activeService']);
    // Defaults are visible to editors, and fields with defaults are optional when writing.
    expect(blueGreen.properties.scaleDownDelaySeconds.default).toBe(30);
    expect(schema.properties.spec.required).not.toContain('progressDeadlineSeconds');
  });
});
