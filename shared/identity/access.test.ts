import { describe, expect, it } from 'vitest';
import {
  accessSchema,
  authorize,
  authorizeCreate,
  authorizeTemplate,
  parseAccessPolicy,
  parseOperators,
  parsePrincipal,
  principalProblem,
  selects,
} from './access.ts';

const alice = { email: 'alice@team-a.example' };
const bob = { email: 'bob@team-a.example', hostedDomain: 'team-a.example' };
const mallory = { email: 'mallory@gmail.com' };
const deployer = { email: 'deployer@acme.iam.gserviceaccount.com' };

describe('principals', () => {
  it('read emails, user:, serviceAccount: and domain:', () => {
    expect(parsePrincipal('Alice@Team-A.example')).toEqual({ kind: 'email', email: 'alice@team-a.example' });
    expect(parsePrincipal('user:alice@team-a.example')).toEqual({
      kind: 'email',
      email: 'alice@team-a.example',
    });
    expect(parsePrincipal('serviceAccount:deployer@acme.iam.gserviceaccount.com')).toEqual({
      kind: 'serviceAccount',
      email: 'deployer@acme.iam.gserviceaccount.com',
    });
    expect(parsePrincipal('domain:team-a.example')).toEqual({ kind: 'domain', domain: 'team-a.example' });
  });

  it('refuse what names nobody, saying what to write', () => {
    expect(principalProblem('alice')).toMatch(/"alice" is no email: write an email, user:EMAIL/);
    expect(principalProblem('group:admins@x.example')).toMatch(/"group" is no kind of identity/);
    expect(principalProblem('domain:not a domain')).toMatch(/names no DNS domain/);
    expect(() => parseOperators('alice@x.example, nobody:x')).toThrow(/no kind of identity/);
  });

  it('operators may name bare local identities (the local issuer vouches for any name)', () => {
    expect(parseOperators(' cli-test , domain:switchyard.local ,')).toEqual([
      { kind: 'email', email: 'cli-test' },
      { kind: 'domain', domain: 'switchyard.local' },
    ]);
  });
});

describe('authorize', () => {
  const access = accessSchema.parse([
    { members: ['alice@team-a.example', 'domain:team-a.example'], commands: ['promote', 'abort'] },
    { members: ['serviceAccount:deployer@acme.iam.gserviceaccount.com'], commands: ['undo'] },
  ]);
  const target = { name: 'api', access };
  const operators = parseOperators('ops@acme.example');

  it('grants what a rule names, to its members, and nothing else (operators included)', () => {
    expect(authorize(target, operators, alice, 'promote')).toEqual({ allowed: true, by: 'spec.access[0]' });
    expect(authorize(target, operators, { email: 'ALICE@team-a.example' }, 'abort').allowed).toBe(true);
    expect(authorize(target, operators, bob, 'abort')).toEqual({ allowed: true, by: 'spec.access[0]' });
    expect(authorize(target, operators, deployer, 'undo')).toEqual({ allowed: true, by: 'spec.access[1]' });
    expect(authorize(target, operators, alice, 'undo')).toEqual({
      allowed: false,
      reason: 'undo: alice@team-a.example may not undo target api: no rule of spec.access grants them undo',
    });
    expect(authorize(target, operators, { email: 'ops@acme.example' }, 'promote').allowed).toBe(false);
  });

  it('a domain is the hosted domain of the account, not the end of an email', () => {
    // A consumer Google account can carry any verified address; only Workspace accounts carry hd.
    expect(authorize(target, operators, { email: 'eve@team-a.example' }, 'abort').allowed).toBe(false);
    expect(authorize(target, operators, mallory, 'promote')).toEqual({
      allowed: false,
      reason:
        'promote: mallory@gmail.com may not promote target api: no rule of spec.access grants them promote',
    });
  });

  it("without spec.access, the installation's operators may run every command", () => {
    const plain = { name: 'web' };
    expect(authorize(plain, operators, { email: 'ops@acme.example' }, 'restart').allowed).toBe(true);
    expect(authorize(plain, operators, alice, 'promote')).toEqual({
      allowed: false,
      reason:
        "promote: alice@team-a.example may not promote target web: the target has no spec.access and they are not one of the installation's operators",
    });
    expect(authorize(plain, [], alice, 'promote')).toMatchObject({
      allowed: false,
      reason: expect.stringMatching(/the installation names no operators$/),
    });
  });

  it('the schema refuses empty rules and unknown commands with their paths', () => {
    const r = accessSchema.safeParse([{ members: [], commands: ['deploy'] }]);
    expect(r.success).toBe(false);
    expect(r.error!.issues.map((i) => i.path.join('.'))).toEqual(['0.members', '0.commands.0']);
    expect(accessSchema.safeParse([]).success).toBe(false);
  });
});

describe('the installation access policy', () => {
  const operators = parseOperators('ops@acme.example');
  const ops = { email: 'ops@acme.example' };
  const policy = parseAccessPolicy(
    JSON.stringify([
      {
        selector: { matchLabels: { team: 'a' } },
        members: ['domain:team-a.example'],
        commands: ['promote', 'apply'],
      },
      {
        selector: { matchLabels: { team: 'b', tier: 'web' } },
        members: ['carol@team-b.example'],
        commands: ['abort'],
      },
    ]),
  );
  const installation = { operators, policy };
  const teamA = { name: 'api', labels: { team: 'a', tier: 'backend' } };
  const teamB = { name: 'web', labels: { team: 'b', tier: 'web' } };
  const unlabelled = { name: 'batch' };

  it('selects targets that carry every label of the selector; {} selects every target', () => {
    expect(selects({ team: 'a' }, { team: 'a', tier: 'x' })).toBe(true);
    expect(selects({ team: 'a', tier: 'web' }, { team: 'a' })).toBe(false);
    expect(selects({ team: 'a' }, { team: 'A' })).toBe(false);
    expect(selects({ constructor: 'x' }, {})).toBe(false);
    expect(selects({}, {})).toBe(true);
  });

  it('grants a team member a command on the targets its rule selects, and not on another', () => {
    expect(authorize(teamA, installation, bob, 'promote')).toEqual({ allowed: true, by: 'access policy[0]' });
    expect(authorize(teamB, installation, bob, 'promote')).toEqual({
      allowed: false,
      reason:
        'promote: bob@team-a.example may not promote target web: no rule of the access policy grants them promote',
    });
    expect(authorize(teamB, installation, { email: 'carol@team-b.example' }, 'abort').allowed).toBe(true);
    // A rule selects only with all its labels: team b alone is not tier web.
    expect(
      authorize(
        { name: 'b-api', labels: { team: 'b' } },
        installation,
        { email: 'carol@team-b.example' },
        'abort',
      ),
    ).toMatchObject({ allowed: false });
  });

  it('a selected target is run by its rules only; a target no rule applies to by the operators', () => {
    expect(authorize(teamA, installation, ops, 'promote')).toMatchObject({ allowed: false });
    expect(authorize(teamA, installation, bob, 'abort')).toMatchObject({ allowed: false });
    expect(authorize(unlabelled, installation, ops, 'undo')).toEqual({ allowed: true, by: 'operators' });
    expect(authorize(unlabelled, installation, bob, 'promote')).toEqual({
      allowed: false,
      reason:
        "promote: bob@team-a.example may not promote target batch: the target has no spec.access and they are not one of the installation's operators",
    });
  });

  it('spec.access and policy rules add up: any rule that applies may grant', () => {
    const both = {
      ...teamA,
      access: accessSchema.parse([{ members: ['alice@team-a.example'], commands: ['undo'] }]),
    };
    expect(authorize(both, installation, alice, 'undo')).toEqual({ allowed: true, by: 'spec.access[0]' });
    expect(authorize(both, installation, bob, 'promote')).toEqual({ allowed: true, by: 'access policy[0]' });
    expect(authorize(both, installation, alice, 'abort')).toEqual({
      allowed: false,
      reason:
        'abort: alice@team-a.example may not abort target api: no rule of spec.access or the access policy grants them abort',
    });
  });

  it('creating a target takes an operator or a policy rule for its labels; its own spec.access does not count', () => {
    expect(authorizeCreate(unlabelled, installation, ops)).toEqual({ allowed: true, by: 'operators' });
    expect(authorizeCreate(teamA, installation, ops)).toEqual({ allowed: true, by: 'operators' });
    expect(authorizeCreate(teamA, installation, bob)).toEqual({ allowed: true, by: 'access policy[0]' });
    expect(authorizeCreate(teamB, installation, bob)).toMatchObject({
      allowed: false,
      reason: expect.stringMatching(
        /^apply: bob@team-a.example may not create target web: only the installation's operators/,
      ),
    });
    // carol's rule selects team b but grants abort, not apply.
    expect(authorizeCreate(teamB, installation, { email: 'carol@team-b.example' }).allowed).toBe(false);
  });

  it('a named template takes an operator, or a rule that selects everything', () => {
    expect(authorizeTemplate('latency', installation, ops)).toEqual({ allowed: true, by: 'operators' });
    expect(authorizeTemplate('latency', installation, bob)).toMatchObject({
      allowed: false,
      reason: expect.stringMatching(
        /^apply: bob@team-a.example may not apply analysis template latency: templates are shared/,
      ),
    });
    const everything = parseAccessPolicy(
      '[{"selector": {"matchLabels": {}}, "members": ["bob@team-a.example"], "commands": ["apply"]}]',
    );
    expect(authorizeTemplate('latency', { operators, policy: everything }, bob)).toEqual({
      allowed: true,
      by: 'access policy[0]',
    });
  });

  it('taking over a target: only the rules of the target as stored decide', () => {
    // Mallory's file grants herself everything, but the stored target names team a only.
    const stored = {
      ...teamA,
      access: accessSchema.parse([{ members: ['alice@team-a.example'], commands: ['apply'] }]),
    };
    expect(authorize(stored, installation, mallory, 'apply')).toMatchObject({
      allowed: false,
      reason: expect.stringMatching(/^apply: mallory@gmail.com may not apply target api: no rule/),
    });
    expect(authorize(stored, installation, alice, 'apply')).toEqual({ allowed: true, by: 'spec.access[0]' });
    // An operator does not change a target whose rules leave them out.
    expect(authorize(stored, installation, ops, 'apply').allowed).toBe(false);
  });

  it('reads the policy from JSON, saying where a bad one is wrong', () => {
    expect(parseAccessPolicy('')).toEqual([]);
    expect(parseAccessPolicy(' ')).toEqual([]);
    expect(() => parseAccessPolicy('{nope')).toThrow(/^SWITCHYARD_ACCESS_POLICY is not JSON/);
    expect(() => parseAccessPolicy('{}')).toThrow(/^SWITCHYARD_ACCESS_POLICY: \(the policy\): /);
    expect(() =>
      parseAccessPolicy(
        '[{"selector": {"matchLabels": {"team": "a"}}, "members": ["group:x@y.example"], "commands": ["deploy"]}]',
      ),
    ).toThrow(/\[0\]\.members\[0\]: "group" is no kind of identity.*\[0\]\.commands\[0\]/);
    expect(() => parseAccessPolicy('[{"members": ["a@b.example"], "commands": ["promote"]}]')).toThrow(
      /\[0\]\.selector: /,
    );
  });
});
