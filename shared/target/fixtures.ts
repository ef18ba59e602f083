// The documents the tests of shared/target are built from: minimal valid ones, edited into the
// shape a test needs (fixtures built by helpers, not YAML walls). Only tests import this file.
import { stringify } from 'yaml';
import type { TargetError } from './problems.ts';
import type { ReleaseTarget, ReleaseTargetInput } from './schema.ts';
import type { ParsedFile } from './validate.ts';
import { parseReleaseTargets } from './yaml.ts';

// biome-ignore lint/suspicious/noExplicitAny: fixtures are edited into deliberately invalid shapes.
export type Loose = Record<string, any>;

/** A minimal valid document; `patch` edits a copy (fixtures built by a helper, not YAML walls). */
export function doc(patch: (d: Loose) => void = () => {}): Loose {
  const d: ReleaseTargetInput = {
    apiVersion: 'switchyard.dev/v1alpha1',
    kind: 'ReleaseTarget',
    metadata: { name: 'api' },
    spec: {
      image: { repository: 'us-docker.pkg.dev/acme/apps/api' },
      cluster: { context: 'local' },
      namespace: 'shop',
      workload: 'api',
      strategy: { blueGreen: { activeService: 'api' } },
    },
  };
  const copy = structuredClone(d) as Loose;
  patch(copy);
  return copy;
}

/** A YAML file of the given documents. */
export const file = (...docs: object[]) => docs.map((d) => stringify(d)).join('---\n');

export function errorsOf(text: string): TargetError[] {
  const result = parseReleaseTargets(text, 'test.yaml');
  if (!('errors' in result)) throw new Error(`expected errors, got ${JSON.stringify(result)}`);
  return result.errors;
}

export function parsedOf(text: string): ParsedFile {
  const result = parseReleaseTargets(text, 'test.yaml');
  if ('errors' in result) throw new Error(`expected targets, got ${JSON.stringify(result.errors)}`);
  return result;
}

export const targetsOf = (text: string): ReleaseTarget[] => parsedOf(text).targets;

export const target = (patch?: (d: Loose) => void) => targetsOf(file(doc(patch)))[0]!;

/** A named template document (kind AnalysisTemplate); `patch` edits it. */
export function templateDoc(name: string, patch: (d: Loose) => void = () => {}): Loose {
  const d: Loose = {
    apiVersion: 'switchyard.dev/v1alpha1',
    kind: 'AnalysisTemplate',
    metadata: { name },
    spec: {
      args: [{ name: 'service' }],
      metrics: [
        {
          name: 'errors',
          interval: '30s',
          successCondition: 'result[0] < 0.05',
          provider: {
            prometheus: { address: 'http://prometheus:9090', query: 'up{service="{{args.service}}"}' },
          },
        },
      ],
    },
  };
  patch(d);
  return d;
}

export const usesPre = (...names: string[]) =>
  doc(
    (d) =>
      (d.spec.strategy.blueGreen.prePromotionAnalysis = {
        templates: names.map((templateName) => ({ templateName })),
      }),
  );
