// Who may run which command on a target (issue 11): a target's `spec.access` and the installation's
// access policy (rules by label selector) name identities per command; a target no rule applies to
// is run by the installation's operators. Pure.
import { z } from 'zod';
import { controlCommands } from '../messages.ts';

/**
 * One identity as access lists name it: an exact email (`alice@example.com`, also written
 * `user:alice@example.com`), a service account (`serviceAccount:deployer@p.iam.gserviceaccount.com`)
 * or every account of a Google Workspace domain (`domain:example.com`, matched by the ID token's
 * `hd` claim, which only Google-hosted accounts of that domain carry).
 */
export type Principal =
  | { kind: 'email'; email: string }
  | { kind: 'serviceAccount'; email: string }
  | { kind: 'domain'; domain: string };

/** What a verified ID token says about its caller. */
export interface Identity {
  /** The verified email, lower-cased. */
  email: string;
  /** The Google Workspace domain of the account (the `hd` claim), when it has one. */
  hostedDomain?: string;
}

const emailShape = /^[^@\s:,]+@[^@\s:,]+$/;
const domainShape =
  /^(?=.{1,253}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)*[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/;

/** The problem with a principal's text, or null when it is one (pure; shared by the schema and config). */
export function principalProblem(text: string): string | null {
  const [prefix, rest] = text.includes(':')
    ? [text.slice(0, text.indexOf(':')), text.slice(text.indexOf(':') + 1)]
    : ['', text];
  if (prefix === 'domain') {
    return domainShape.test(rest) ? null : `domain:${rest} names no DNS domain (write domain:example.com)`;
  }
  if (prefix === '' || prefix === 'user' || prefix === 'serviceAccount') {
    return emailShape.test(rest)
      ? null
      : `${JSON.stringify(text)} is no email: write an email, user:EMAIL, serviceAccount:EMAIL or domain:DOMAIN`;
  }
  return `${JSON.stringify(prefix)} is no kind of identity: write an email, user:EMAIL, serviceAccount:EMAIL or domain:DOMAIN`;
}

/**
 * A principal from its text; throws on a bad one. `anyName`: a bare name without "@" is an exact
 * identity too (the local stack's issuer vouches for any name; Google's only for emails).
 */
export function parsePrincipal(text: string, { anyName = false } = {}): Principal {
  const bare = anyName && /^[^@\s:,]+$/.test(text);
  const problem = bare ? null : principalProblem(text);
  if (problem) throw new Error(problem);
  const at = text.indexOf(':');
  const prefix = at < 0 ? '' : text.slice(0, at);
  const rest = (at < 0 ? text : text.slice(at + 1)).toLowerCase();
  if (prefix === 'domain') return { kind: 'domain', domain: rest };
  if (prefix === 'serviceAccount') return { kind: 'serviceAccount', email: rest };
  return { kind: 'email', email: rest };
}

/** True when the identity is the principal (emails compare case-insensitively). */
export function matches(p: Principal, who: Identity): boolean {
  switch (p.kind) {
    case 'email':
    case 'serviceAccount':
      return p.email === who.email.toLowerCase();
    case 'domain':
      return who.hostedDomain?.toLowerCase() === p.domain;
  }
}

const principalText = z
  .string()
  .max(320)
  .superRefine((v, ctx) => {
    const problem = principalProblem(v);
    if (problem) ctx.addIssue({ code: 'custom', message: problem });
  });

/**
 * What an access rule may grant: every control command, and `apply` (storing a changed version of
 * the target with `switchyard apply -f`).
 */
export const accessCommands = [...controlCommands, 'apply'] as const;
export type AccessCommand = (typeof accessCommands)[number];

const membersSchema = z
  .array(principalText)
  .min(1, 'must name at least one identity')
  .describe(
    'Who: exact emails (alice@example.com or user:alice@example.com), service accounts ' +
      '(serviceAccount:NAME@PROJECT.iam.gserviceaccount.com) or a Google Workspace domain (domain:example.com).',
  );

const commandsSchema = z
  .array(z.enum(accessCommands))
  .min(1, `must name at least one of ${accessCommands.join(', ')}`)
  .describe(
    `What they may run: any of ${accessCommands.join(', ')} (apply: store a changed version of the target).`,
  );

/** `spec.access` of a ReleaseTarget: rules, each granting commands to identities. */
export const accessSchema = z
  .array(
    z
      .strictObject({ members: membersSchema, commands: commandsSchema })
      .describe('A rule: these members may run these commands on the target.'),
  )
  .min(
    1,
    "must hold at least one rule; leave access out to let the installation's operators run every command",
  )
  .describe(
    "Who may run which command on this target (and apply a changed version of it). A command no rule that applies grants is refused; the installation's access policy (SWITCHYARD_ACCESS_POLICY) adds rules by label. When no rule applies, the installation's operators (SWITCHYARD_OPERATORS) may run every command.",
  );
export type Access = z.infer<typeof accessSchema>;

/**
 * The installation's access policy (SWITCHYARD_ACCESS_POLICY, Terraform `access_policy`): rules like
 * those of `spec.access`, each for the targets whose metadata.labels hold every label of its
 * selector (an empty matchLabels selects every target, and the analysis templates too).
 */
export const accessPolicySchema = z.array(
  z.strictObject({
    selector: z.strictObject({
      matchLabels: z
        .record(z.string().min(1).max(317), z.string().max(63))
        .describe(
          'The labels a target must carry, all of them, for the rule to apply; {} selects every target.',
        ),
    }),
    members: membersSchema,
    commands: commandsSchema,
  }),
);
export type AccessPolicy = z.infer<typeof accessPolicySchema>;

/** The variable the policy is read from, named in every error about it. */
export const accessPolicyVariable = 'SWITCHYARD_ACCESS_POLICY';

/** The policy from its JSON text (empty: no policy); throws an Error saying what is wrong. */
export function parseAccessPolicy(text: string | undefined): AccessPolicy {
  if (!text || text.trim() === '') return [];
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (err) {
    throw new Error(
      `${accessPolicyVariable} is not JSON (${(err as Error).message}): write a JSON list of {"selector": {"matchLabels": {…}}, "members": […], "commands": […]}`,
    );
  }
  const parsed = accessPolicySchema.safeParse(json);
  if (!parsed.success) {
    const at = (path: readonly PropertyKey[]) =>
      path.length === 0
        ? '(the policy)'
        : path
            .map((p) => (typeof p === 'number' ? `[${p}]` : `.${String(p)}`))
            .join('')
            .replace(/^\./, '');
    const issues = parsed.error.issues.map((i) => `${at(i.path)}: ${i.message}`).join('; ');
    throw new Error(`${accessPolicyVariable}: ${issues}`);
  }
  return parsed.data;
}

/** True when every label of the selector is on the labels (an empty selector selects everything). */
export function selects(
  matchLabels: Readonly<Record<string, string>>,
  labels: Readonly<Record<string, string>>,
) {
  return Object.entries(matchLabels).every(([k, v]) => Object.hasOwn(labels, k) && labels[k] === v);
}

export type Decision = { allowed: true; by: string } | { allowed: false; reason: string };

/** What decides who may act on a target: its own rules and labels, as stored. */
export interface Subject {
  name: string;
  /** metadata.labels, which the policy's selectors match. */
  labels?: Readonly<Record<string, string>> | undefined;
  access?: Access | undefined;
}

/** The installation's part: its operators (the default) and its policy. */
export interface Installation {
  operators: readonly Principal[];
  policy?: AccessPolicy | undefined;
}

/** The rules that apply to a subject: its spec.access, then the policy rules that select its labels. */
function rulesFor(
  target: Subject,
  policy: AccessPolicy,
): { by: string; members: string[]; commands: readonly AccessCommand[] }[] {
  return [
    ...(target.access ?? []).map((r, i) => ({ by: `spec.access[${i}]`, ...r })),
    ...policy.flatMap((r, i) =>
      selects(r.selector.matchLabels, target.labels ?? {}) ? [{ by: `access policy[${i}]`, ...r }] : [],
    ),
  ];
}

function isOperator(operators: readonly Principal[], who: Identity): boolean {
  return operators.some((p) => matches(p, who));
}

/**
 * Whether `who` may run `command` on `target`: allowed when any rule that applies (the target's
 * own spec.access, or a policy rule whose selector matches its labels) grants it to them; when no
 * rule at all applies, when `who` is one of the installation's operators. A refusal names who and
 * what was refused. `installation` may be the operators alone (no policy).
 */
export function authorize(
  target: Subject,
  installation: Installation | readonly Principal[],
  who: Identity,
  command: AccessCommand,
): Decision {
  const { operators, policy = [] } = Array.isArray(installation)
    ? { operators: installation as readonly Principal[] }
    : (installation as Installation);
  const refused = (why: string): Decision => ({
    allowed: false,
    reason: `${command}: ${who.email} may not ${command} target ${target.name}: ${why}`,
  });
  const rules = rulesFor(target, policy);
  if (rules.length === 0) {
    if (isOperator(operators, who)) return { allowed: true, by: 'operators' };
    // No rule of the access policy selects it either (the same words with or without a policy).
    return refused(
      operators.length === 0
        ? 'the target has no spec.access and the installation names no operators'
        : "the target has no spec.access and they are not one of the installation's operators",
    );
  }
  const rule = rules.find(
    (r) => r.commands.includes(command) && r.members.some((m) => matches(parsePrincipal(m), who)),
  );
  if (rule) return { allowed: true, by: rule.by };
  const where = rules.some((r) => r.by.startsWith('access'))
    ? target.access
      ? 'spec.access or the access policy'
      : 'the access policy'
    : 'spec.access';
  return refused(`no rule of ${where} grants them ${command}`);
}

/**
 * Whether `who` may create a target (none of that name is stored yet): the installation's
 * operators, or a policy rule that selects the new target's labels and grants `apply`. The new
 * document's own spec.access does not count: nobody grants themselves a target.
 */
export function authorizeCreate(
  target: { name: string; labels?: Readonly<Record<string, string>> | undefined },
  installation: Installation,
  who: Identity,
): Decision {
  if (isOperator(installation.operators, who)) return { allowed: true, by: 'operators' };
  const rule = rulesFor({ name: target.name, labels: target.labels }, installation.policy ?? []).find(
    (r) => r.commands.includes('apply') && r.members.some((m) => matches(parsePrincipal(m), who)),
  );
  if (rule) return { allowed: true, by: rule.by };
  return {
    allowed: false,
    reason: `apply: ${who.email} may not create target ${target.name}: only the installation's operators create targets, or a rule of the access policy that selects its labels and grants apply`,
  };
}

/**
 * Whether `who` may apply (create or change) a named analysis template: the installation's
 * operators, or a policy rule that selects everything (matchLabels {}) and grants `apply`. A
 * template is shared by every target that names it, and its labels are not stored, so no rule
 * scoped by labels can vouch for it.
 */
export function authorizeTemplate(name: string, installation: Installation, who: Identity): Decision {
  if (isOperator(installation.operators, who)) return { allowed: true, by: 'operators' };
  const rule = (installation.policy ?? []).findIndex(
    (r) =>
      Object.keys(r.selector.matchLabels).length === 0 &&
      r.commands.includes('apply') &&
      r.members.some((m) => matches(parsePrincipal(m), who)),
  );
  if (rule >= 0) return { allowed: true, by: `access policy[${rule}]` };
  return {
    allowed: false,
    reason: `apply: ${who.email} may not apply analysis template ${name}: templates are shared by every target, so only the installation's operators apply them (or a rule of the access policy with matchLabels {} that grants apply)`,
  };
}

/** The installation's operators from SWITCHYARD_OPERATORS (comma-separated principals); throws on a bad one. */
export function parseOperators(text: string | undefined): Principal[] {
  return (text ?? '')
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s.length > 0)
    .map((s) => parsePrincipal(s, { anyName: true }));
}
