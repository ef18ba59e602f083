// The exit codes of every `switchyard` command: one set, documented once (cli/help.ts prints them),
// so a script can branch on them without reading the message.

/** Exit codes scripts can trust. The numbers never change meaning. */
export const exitCodes = {
  /** Done as asked; for `watch`, the release Succeeded. */
  ok: 0,
  /** Could not finish: Firestore, Pub/Sub or the cluster unreachable, no project, no answer in time. */
  failure: 1,
  /** Bad arguments or file, or an unknown target or release; nothing was changed. */
  invalidInput: 2,
  /** The engine refused a control command, or an apply it may not make; its reason is printed. */
  refused: 3,
  /** `watch`: the release ended, but not Succeeded (RolledBack, Aborted, Failed, Superseded); `train watch`: a member did. */
  releaseNotSucceeded: 4,
  /** Interrupted (Ctrl-C); nothing is left listening. */
  interrupted: 130,
} as const;

export type ExitCode = (typeof exitCodes)[keyof typeof exitCodes];

/** What each exit code means, in the order a reference lists them. */
export const exitCodeDocs: { code: number; meaning: string }[] = [
  { code: exitCodes.ok, meaning: 'success; for `watch`, the release Succeeded' },
  {
    code: exitCodes.failure,
    meaning:
      'failure: Firestore, Pub/Sub or the cluster unreachable, no project configured, no answer in time, or a stored document that no longer validates',
  },
  {
    code: exitCodes.invalidInput,
    meaning:
      'invalid input: bad arguments or options, an invalid file (nothing is stored), an unknown target or release',
  },
  { code: exitCodes.refused, meaning: 'a control command was refused by the engine; its reason is printed' },
  {
    code: exitCodes.releaseNotSucceeded,
    meaning:
      '`watch`: the release ended RolledBack, Aborted, Failed or Superseded; `train watch`: a member of the train did',
  },
  { code: exitCodes.interrupted, meaning: 'interrupted (Ctrl-C)' },
];

/** An error a command ends with: the message says what to do, the exit code what happened. */
export class CliError extends Error {
  readonly exitCode: ExitCode;
  constructor(exitCode: ExitCode, message: string) {
    super(message);
    this.name = 'CliError';
    this.exitCode = exitCode;
  }
}

/** "target api not found; `switchyard targets` lists targets" (exit code 2). */
export function targetNotFound(name: string): CliError {
  return new CliError(
    exitCodes.invalidInput,
    `target ${name} not found; \`switchyard targets\` lists targets`,
  );
}

/** An unknown release, pointing at the list of the target's releases when the target is known. */
export function releaseNotFound(id: string, target?: string): CliError {
  const list = target
    ? `\`switchyard list --target ${target}\` lists its releases`
    : '`switchyard list` lists releases';
  return new CliError(
    exitCodes.invalidInput,
    `release ${id} not found${target ? ` for target ${target}` : ''}; ${list}`,
  );
}

/** A name that is neither a target nor a release (commands that take either). */
export function nameNotFound(name: string): CliError {
  return new CliError(
    exitCodes.invalidInput,
    `target ${name} not found; \`switchyard targets\` lists targets (and \`switchyard list\` lists releases)`,
  );
}
