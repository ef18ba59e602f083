// The installation access policy of the test stacks (SWITCHYARD_ACCESS_POLICY, issue 11): rules by
// label, for the targets test/releases/apply-access.test.ts labels with them; no other target
// carries these labels, so every other test sees the installation as if it had no policy.
// No vitest import: the run's global setup reads it.

/** The label the policy's selectors match, and its values. */
export const teamLabel = 'switchyard.dev/test-team';
export const teams = { a: 'apply-access-a', b: 'apply-access-b' } as const;

/** Who is on each team (signed by the stack's issuer; none is an operator). */
export const teamMembers = { a: 'team-a@switchyard', b: 'team-b@switchyard' } as const;

export const testAccessPolicy = [
  {
    selector: { matchLabels: { [teamLabel]: teams.a } },
    members: [teamMembers.a],
    commands: ['promote', 'abort', 'apply'],
  },
  { selector: { matchLabels: { [teamLabel]: teams.b } }, members: [teamMembers.b], commands: ['promote'] },
];
