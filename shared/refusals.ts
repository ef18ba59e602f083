// Why a control command or an apply was refused, as a code beside the sentence: whoever reads an
// answer (the CLI, the dashboard, a script) decides by the code, and shows the sentence to people.
// The sentence may change wording; the code is part of the API.

export const refusalCodes = {
  malformed: 'the message does not parse: an unknown field, a bad id; sending it again cannot help',
  unauthenticated: 'no ID token, or one that is forged, expired or for another audience',
  forbidden: "the verified caller may not do this to this target (spec.access, the installation's policy)",
  'not-found': 'the target or the release named does not exist',
  invalid: 'apply: a document is invalid, or names an analysis template that does not exist',
  'store-refused': 'apply: Firestore refused the documents',
  'no-release': 'nothing to act on: no release yet, no stable revision, no earlier revision',
  ended: 'the release addressed has ended',
  'wrong-phase':
    'the release is not in a phase where the command applies (not waiting for promotion, already paused, …)',
  'in-flight': 'another release of the target is in flight',
  'rolling-back': 'the release is rolling back',
} as const;

export type RefusalCode = keyof typeof refusalCodes;
