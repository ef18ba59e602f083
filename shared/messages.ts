// Every message Switchyard receives, as zod schemas (the single source of truth for their shapes).
import { z } from 'zod';
import { targetName } from './target/names.ts';
import { stepNames } from './topology.ts';

/** Artifact Registry's notification on the `gcr` topic (FACTS.md §1): full image references. */
export const artifactRegistryMessage = z
  .object({
    action: z.enum(['INSERT', 'DELETE']),
    digest: z.string().min(1).optional(),
    tag: z.string().min(1).optional(),
  })
  .refine((m) => m.digest !== undefined || m.tag !== undefined, { message: 'needs a digest or a tag' });
export type ArtifactRegistryMessage = z.infer<typeof artifactRegistryMessage>;

/** A value as a message about it shows it: short, JSON. */
function shown(value: unknown): string {
  const text = JSON.stringify(value) ?? String(value);
  return text.length > 40 ? `${text.slice(0, 40)}…` : text;
}

/** zod's type error in a field's words: `required`, or what it must be and what it is. */
const typeError =
  (expected: string) =>
  (issue: { input?: unknown }): string =>
    issue.input === undefined ? `required: ${expected}` : `must be ${expected}, not ${shown(issue.input)}`;

const idCharacter = /[A-Za-z0-9._:@-]/;

/**
 * An id that names a Firestore document (a release, a request): Firestore refuses "/" (it would
 * name a document of another collection), "." and ".." and ids of the form __…__; Switchyard also
 * keeps out spaces, control characters and anything else that is hard to type or to read back.
 */
export function documentId(what: string, { min = 1, max }: { min?: number; max: number }) {
  const length = min === 1 ? `at most ${max}` : `${min} to ${max}`;
  const allowed = `${what} is ${length} letters, digits, ".", "_", "-", ":" or "@" (not ".", ".." nor __…__: it names a Firestore document)`;
  return z.string({ error: typeError(`a ${what}`) }).superRefine((value, ctx) => {
    const bad = [...value].find((c) => !idCharacter.test(c));
    const problem =
      value.length < min || value.length > max
        ? `has ${value.length} characters`
        : bad !== undefined
          ? `must not contain ${JSON.stringify(bad)}`
          : value === '.' || value === '..'
            ? `must not be ${JSON.stringify(value)}`
            : /^__.*__$/.test(value)
              ? 'must not start and end with "__"'
              : undefined;
    if (problem) ctx.addIssue({ code: 'custom', message: `${problem}: a ${allowed}` });
  });
}

/** A release's id (`<target>-<number>`, but any id a Firestore document may have is read). */
export const releaseId = documentId('release id', { max: 100 });

/** A control request's id: unique per request, the id of the document its answer is recorded in. */
export const requestId = documentId('request id', { min: 8, max: 100 });

/** A target as messages name it: a string, then a target name (target/names.ts). */
const targetField = z.string({ error: typeError('a target name') }).pipe(targetName);

/** The most unknown fields a refusal lists, and how much of each name (anyone may publish anything). */
const listedUnknown = 5;
const listedNameChars = 40;

/** The edit distance of two short strings (for "did you mean"). */
function distance(a: string, b: string): number {
  let row = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const next = [i];
    for (let j = 1; j <= b.length; j++) {
      next[j] = Math.min(row[j]! + 1, next[j - 1]! + 1, row[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1));
    }
    row = next;
  }
  return row[b.length]!;
}

/** The known field a misspelt one most likely means, if one is close. */
function closest(key: string, fields: readonly string[]): string | undefined {
  if (key.length > listedNameChars) return undefined;
  const near = fields
    .map((f) => ({ f, d: f.toLowerCase() === key.toLowerCase() ? 0 : distance(key, f) }))
    .filter(({ d }) => d <= 2)
    .sort((x, y) => x.d - y.d)[0];
  return near?.f;
}

/**
 * An object schema that refuses unknown fields, naming them (with the field each one most likely
 * means) and the fields there are: a misspelt `ful` must not be a promote without --full.
 */
function strictMessage<T extends z.core.$ZodLooseShape>(what: string, shape: T) {
  const fields = Object.keys(shape);
  return z.strictObject(shape, {
    error: (issue) => {
      if (issue.code === 'unrecognized_keys') {
        const shownKey = (key: string) =>
          key.length > listedNameChars ? `${key.slice(0, listedNameChars)}…` : key;
        const more =
          issue.keys.length > listedUnknown ? ` and ${issue.keys.length - listedUnknown} more` : '';
        const names = `${issue.keys.slice(0, listedUnknown).map(shownKey).join(', ')}${more}`;
        const hints = issue.keys.slice(0, listedUnknown).flatMap((key) => {
          const near = closest(key, fields);
          if (!near) return [];
          return [
            issue.keys.length === 1 ? `did you mean ${near}?` : `${shownKey(key)}: did you mean ${near}?`,
          ];
        });
        const unknown = issue.keys.length === 1 ? 'unknown field' : 'unknown fields';
        return `${names}: ${unknown}${hints.length ? ` (${hints.join(', ')})` : ''}; ${what} has only ${fields.join(', ')}`;
      }
      if (issue.code === 'invalid_type') return `must be ${what} (a JSON object), not ${shown(issue.input)}`;
      return undefined;
    },
  });
}

/**
 * A hand-over from one step to the next, or a timer firing. `seq` is the release's seq when sent.
 * Unknown fields are let through: during a deployment, a newer function may hand over to an older one.
 */
export const stepMessage = z.object({
  kind: z.literal('step'),
  releaseId,
  target: targetField,
  step: z.enum(stepNames),
  seq: z.number().int().nonnegative(),
});
export type StepMessage = z.infer<typeof stepMessage>;

export const controlCommands = ['promote', 'abort', 'retry', 'restart', 'undo', 'pause', 'resume'] as const;
export type ControlCommand = (typeof controlCommands)[number];

/** Who the sender says it is: kept beside a refusal for whoever investigates, never trusted. */
const requestedByField = z
  .string({ error: typeError('a string saying who asks') })
  .min(1, 'must not be empty: say who asks')
  .max(200, 'must be at most 200 characters')
  .optional();

/**
 * The caller's ID token (a JWT) for this installation's audience: from Application Default
 * Credentials on Google Cloud, from the local issuer on the local stack. Without one, refused.
 */
const idTokenField = z
  .string({ error: typeError('a string (a JWT)') })
  .max(8192, 'must be at most 8192 characters')
  .optional();

/**
 * A manual command, published by the CLI or by anything with publish rights (SPEC §6). Strict: a
 * field it does not know is refused by name, never ignored. Who asks is the verified email of its
 * `idToken` (shared/identity/), never what the sender writes.
 */
export const controlMessage = strictMessage('a control message', {
  command: z.enum(controlCommands, { error: typeError(`one of ${controlCommands.join(', ')}`) }),
  target: targetField,
  /** The release the command is meant for; default: the target's current release. */
  release: releaseId.optional(),
  /** promote --full: skip the remaining steps and analysis. */
  full: z.boolean({ error: typeError('true or false') }).default(false),
  requestedBy: requestedByField,
  reason: z
    .string({ error: typeError('a string') })
    .max(1000, 'must be at most 1000 characters')
    .optional(),
  /** Unique per request, so a redelivered command is applied once. */
  requestId,
  idToken: idTokenField,
});
/** A control message as sent (its sender's claim and token not yet verified). */
export type SignedControlMessage = z.input<typeof controlMessage>;
/** A control command as the engine gets it: its sender verified, `requestedBy` the verified email. */
export type ControlMessage = Omit<z.infer<typeof controlMessage>, 'idToken' | 'requestedBy'> & {
  requestedBy: string;
};

/** The most documents one apply carries: a Firestore transaction writes at most 500 documents. */
export const maxApplyDocuments = 500;

/**
 * The largest apply message, in bytes of its JSON: Pub/Sub takes messages of up to 10 MB (data and
 * attributes together); 16 KB is left for the attributes and the request around the data.
 */
export const maxApplyMessageBytes = 10_000_000 - 16_000;

/**
 * `switchyard apply -f`, on the control topic beside the commands (issue 11): the ReleaseTarget and
 * AnalysisTemplate documents of a file, each as written (YAML read as JSON, defaults not filled
 * in). The control function validates every document again with the schema the CLI uses, checks
 * who may store each one, and stores all of them or none. Strict, as a control message is.
 */
export const applyMessage = strictMessage('an apply message', {
  command: z.literal('apply', { error: typeError('"apply"') }),
  /** The documents, in file order; their indexes are the `documents[i]` of every error. */
  documents: z
    .array(z.unknown(), { error: typeError('a list of ReleaseTarget and AnalysisTemplate documents') })
    .min(1, 'must hold at least one document')
    .max(maxApplyDocuments, `must hold at most ${maxApplyDocuments} documents: split the file`),
  /** Where the documents come from (a file name), for the answer and the logs. */
  source: z
    .string({ error: typeError('a string') })
    .max(500, 'must be at most 500 characters')
    .optional(),
  requestedBy: requestedByField,
  /** Unique per request, so a redelivered apply is applied once. */
  requestId,
  idToken: idTokenField,
});
/** An apply message as sent (its sender's claim and token not yet verified). */
export type SignedApplyMessage = z.input<typeof applyMessage>;

/** Decodes base64 JSON message data; a clear error when it is not JSON. */
export function decodeJson(base64: string | undefined): unknown {
  if (!base64) throw Object.assign(new Error('message has no data'), { kind: 'invalid' as const });
  const text = Buffer.from(base64, 'base64').toString('utf8');
  try {
    return JSON.parse(text);
  } catch {
    throw Object.assign(new Error(`message data is not JSON: ${text.slice(0, 200)}`), {
      kind: 'invalid' as const,
    });
  }
}

/**
 * zod issues as one line: `path: message; path: message`. Unknown fields are named as the path of
 * the field (`ful: unknown field…`), so the answer to a misspelt field names it.
 */
export function describeIssues(error: z.ZodError): string {
  return error.issues
    .map((i) => {
      const path = i.path.map(String).join('.');
      if (i.code === 'unrecognized_keys') return path ? `${path}.${i.message}` : i.message;
      return `${path || '(message)'}: ${i.message}`;
    })
    .join('; ');
}
