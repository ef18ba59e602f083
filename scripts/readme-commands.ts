// The commands of README.md: every line of its ```sh blocks. Each one is run by a test: the two of
// the quick start by the tests named below, every other one by test/cli/readme.test.ts, in README
// order, in one shell session on the test stack. scripts/docs.test.ts checks that this holds.

export interface ReadmeCommand {
  /** 1-based line of the command in the README. */
  line: number;
  /** The command as typed, its trailing `# comment` removed. */
  command: string;
}

/** README commands that another test runs, and why that one counts. */
export const coveredElsewhere: Record<string, { by: string; why: string }> = {
  'npm run demo': {
    by: 'test/demo.test.ts',
    why: 'it runs `node cli/main.ts demo` on the test stack, which is what `npm run demo` runs after scripts/setup.sh (and setup runs before every test run)',
  },
  'npm test': {
    by: '.ci/run',
    why: 'CI runs it on every change; it is the very suite these tests belong to',
  },
};

/** README commands the walk-through test runs elsewhere than on the shared test stack, and why. */
export const redirected: Record<string, { why: string }> = {
  'switchyard dev down': {
    why: 'it would stop the stack every other test file of the run uses; it runs against a throwaway state dir instead (test/stack/dev.test.ts stops a real stack and checks that nothing is left)',
  },
};

/** The line without a trailing `# comment` (a `#` after a blank, outside quotes), trimmed. */
export function stripComment(line: string): string {
  let quote: string | null = null;
  for (let i = 0; i < line.length; i++) {
    const c = line[i];
    if (quote) {
      if (c === '\\' && quote === '"') i += 1;
      else if (c === quote) quote = null;
    } else if (c === '"' || c === "'") {
      quote = c;
    } else if (c === '#' && (i === 0 || /\s/.test(line[i - 1] ?? ''))) {
      return line.slice(0, i).trim();
    }
  }
  return line.trim();
}

/** Every command of the README's ```sh blocks, in order (lines ending in `\` are joined). */
export function readmeCommands(readme: string): ReadmeCommand[] {
  const commands: ReadmeCommand[] = [];
  let inSh = false;
  let pending: ReadmeCommand | null = null;
  readme.split('\n').forEach((text, index) => {
    const fence = /^\s*```(\S*)/.exec(text);
    if (fence) {
      inSh = !inSh && fence[1] === 'sh';
      return;
    }
    if (!inSh) return;
    const command = stripComment(text);
    if (!command && !pending) return;
    const current: ReadmeCommand = pending
      ? { line: pending.line, command: `${pending.command} ${command}` }
      : { line: index + 1, command };
    if (current.command.endsWith('\\')) {
      pending = { line: current.line, command: current.command.slice(0, -1).trim() };
      return;
    }
    pending = null;
    commands.push(current);
  });
  return commands;
}

/** The commands test/cli/readme.test.ts runs: all but those another test covers. */
export function commandsToRun(readme: string): ReadmeCommand[] {
  return readmeCommands(readme).filter((c) => !(c.command in coveredElsewhere));
}
