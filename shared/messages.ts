// Every message Switchyard receives, as zod schemas (the single source of truth for their shapes).
import { z } from 'zod';
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

/** A hand-over from one step to the next, or a timer firing. `seq` is the release's seq when sent. */
export const stepMessage = z.object({
  kind: z.literal('step'),
  releaseId: z.string().min(1),
  target: z.string().min(1),
  step: z.enum(stepNames),
  seq: z.number().int().nonnegative(),
  timerId: z.string().optional(),
});
export type StepMessage = z.infer<typeof stepMessage>;

export const controlCommands = ['promote', 'abort', 'retry', 'restart', 'undo', 'pause', 'resume'] as const;
export type ControlCommand = (typeof controlCommands)[number];

/** A manual command, published by the CLI or by anything with publish rights (SPEC §6). */
export const controlMessage = z.object({
  command: z.enum(controlCommands),
  target: z.string().min(1),
  /** The release the command is meant for; default: the target's current release. */
  release: z.string().min(1).optional(),
  /** promote --full: skip the remaining steps and analysis. */
  full: z.boolean().default(false),
  requestedBy: z.string().min(1).max(200),
  reason: z.string().max(1000).optional(),
  /** Unique per request, so a redelivered command is applied once. */
  requestId: z.string().min(8).max(100),
});
export type ControlMessage = z.infer<typeof controlMessage>;

/** The scheduler's tick (its body is not used; any message runs a sweep). */
export const sweepMessage = z.object({ kind: z.literal('sweep').optional() }).passthrough();

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

/** zod issues as one line: `path: message; path: message`. */
export function describeIssues(error: z.ZodError): string {
  return error.issues
    .map((i) => `${i.path.length ? i.path.join('.') : '(message)'}: ${i.message}`)
    .join('; ');
}
