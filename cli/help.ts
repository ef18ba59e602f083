// The help of the `switchyard` CLI in one place: the examples and exit codes of every command, added
// to each command's `--help` by buildProgram() (cli/program.ts), and the same data for generated
// documentation. Names, usage, summaries and options come from commander's own definitions, so the
// documentation cannot drift from what the CLI accepts.
//
// Exports for documentation generators (stable):
//   interface CommandDoc            one command: name ("get", "dev up"), usage, summary, examples,
//                                   options, exit codes
//   commandDocs(program): CommandDoc[]   every command of `buildProgram()`, depth first, root excluded
//   globalOptionDocs(program): OptionDoc[]   options every command takes (--project)
//   exitCodeDocs: { code, meaning }[]      the exit codes of the whole CLI
//   exitCodes                              the same as named constants (exit-codes.ts)
//   commandHelp                            the registry itself: examples and exit codes by command name
//
// Usage:  import { buildProgram } from './cli/program.ts';
//         import { commandDocs, exitCodeDocs } from './cli/help.ts';
//         for (const doc of commandDocs(buildProgram())) ...
import type { Command } from 'commander';
import { controlCommands } from '../shared/messages.ts';
import { exitCodeDocs, exitCodes } from './exit-codes.ts';

export { exitCodeDocs, exitCodes };

export interface Example {
  /** A command line as typed, starting with `switchyard`. */
  command: string;
  /** What it does, one line. */
  description: string;
}

export interface OptionDoc {
  /** As declared, e.g. "-o, --output <format>". */
  flags: string;
  description: string;
  /** The default, as printed by --help; null when none. */
  default: string | null;
}

export interface CommandDoc {
  /** The command's words after `switchyard`: "get", "dev up". */
  name: string;
  /** e.g. "switchyard get [options] <name>". */
  usage: string;
  /** The command's description, as `--help` prints it. */
  summary: string;
  examples: Example[];
  options: OptionDoc[];
  /** The exit codes the command can end with, and what each means for it. */
  exitCodes: { code: number; meaning: string }[];
}

interface HelpEntry {
  examples: Example[];
  /** Exit codes this command ends with; a string says what the code means for this command. */
  exits: Partial<Record<number, string | true>>;
}

const ex = (command: string, description: string): Example => ({ command, description });

/** The exit codes of commands that read and print data. */
const readExits = { 0: true, 1: true, 2: true } as const;
const controlExits = {
  0: 'applied (a new release for retry, restart and undo)',
  1: 'no answer in time, or Firestore or Pub/Sub unreachable',
  2: 'unknown target or release, or bad options',
  3: 'refused by the engine; its reason and what to do are printed',
} as const;

const controlExamples: Record<(typeof controlCommands)[number], Example[]> = {
  promote: [
    ex(
      'switchyard promote api --reason "preview checked"',
      'leave the pause and go on (to the switch, or the next canary step)',
    ),
    ex('switchyard promote api --full', 'skip the remaining canary steps and analysis'),
    ex('switchyard promote --train v1.4.0', 'promote every release of the train v1.4.0 that waits for it'),
  ],
  abort: [
    ex('switchyard abort api --reason "error rate up"', 'send traffic back to the stable revision and stop'),
    ex(
      'switchyard abort --train v1.4.0',
      'abort every release of the train v1.4.0 in flight, dependents first',
    ),
  ],
  retry: [ex('switchyard retry api', 'start the failed or aborted release again')],
  restart: [
    ex(
      'switchyard restart api --reason "new ConfigMap"',
      'roll out the stable image again as a new revision',
    ),
  ],
  undo: [ex('switchyard undo api --reason "v3 is slower"', 'go back to the previous revision')],
  pause: [ex('switchyard pause api --reason "DB migration running"', 'hold the release where it is')],
  resume: [ex('switchyard resume api', 'let a paused release go on')],
};

/** Examples and exit codes of every command, by name (words after `switchyard`; "" is the root). */
export const commandHelp: Record<string, HelpEntry> = {
  '': {
    examples: [
      ex('switchyard dev up', 'start the local stack; commands use it while no project is named'),
      ex('switchyard apply -f examples/local-demo.yaml', 'store a release target'),
      ex('switchyard watch demo-api', 'follow its release until it ends'),
      ex(
        'switchyard --project acme-prod get api',
        'a target on Google Cloud (Application Default Credentials)',
      ),
    ],
    exits: Object.fromEntries(exitCodeDocs.map((d) => [d.code, d.meaning])),
  },
  apply: {
    examples: [
      ex(
        'switchyard apply -f examples/blue-green.yaml',
        'store every target and template of the file, or none',
      ),
      ex('switchyard apply -f targets.yaml -o json', 'the same, printing what changed as JSON'),
    ],
    exits: {
      0: true,
      1: true,
      2: 'the file is invalid (each error with its line and path); nothing was stored',
    },
  },
  validate: {
    examples: [
      ex('switchyard validate -f examples/blue-green.yaml', 'check a file; stores nothing'),
      ex('cat targets.yaml | switchyard validate -f - -o json', 'check stdin, errors as JSON'),
    ],
    exits: { 0: 'the file is valid', 1: true, 2: 'the file is invalid (each error with its line and path)' },
  },
  targets: {
    examples: [
      ex('switchyard targets', 'the stored targets as a table'),
      ex('switchyard targets -o json', 'as JSON'),
    ],
    exits: {
      0: true,
      1: 'Firestore unreachable, or a stored target no longer validates (apply its file again)',
      2: true,
    },
  },
  templates: {
    examples: [
      ex('switchyard templates', 'the stored analysis templates as a table'),
      ex('switchyard templates -o yaml', 'as YAML'),
    ],
    exits: {
      0: true,
      1: 'Firestore unreachable, or a stored template no longer validates (apply its file again)',
      2: true,
    },
  },
  get: {
    examples: [
      ex('switchyard get api', "the target's current release as a tree, with live revisions and analysis"),
      ex('switchyard get api-3 -o json', 'one release, as data'),
    ],
    exits: readExits,
  },
  list: {
    examples: [
      ex('switchyard list', 'every recent release, newest first'),
      ex('switchyard list --target api -o json', "one target's releases as JSON"),
    ],
    exits: readExits,
  },
  history: {
    examples: [
      ex('switchyard history api', "every transition of api's releases: time, cause, who asked, reason"),
      ex('switchyard history api-3 -o yaml', 'one release, as YAML'),
    ],
    exits: readExits,
  },
  watch: {
    examples: [
      ex(
        'switchyard watch api',
        "follow api's newest release until it ends; exit code 0 only if it Succeeded",
      ),
      ex('switchyard watch api-3 -o json', 'one JSON line per transition'),
      ex('switchyard watch api --timeout 900', 'give up after 15 minutes (exit code 1)'),
    ],
    exits: {
      0: 'the release Succeeded',
      1: 'timeout, or Firestore unreachable',
      2: 'unknown target or release',
      4: 'the release ended RolledBack, Aborted, Failed or Superseded',
      130: 'interrupted (Ctrl-C); the listener is closed',
    },
  },
  train: {
    examples: [
      ex('switchyard train list', 'the versions of release trains, newest first'),
      ex('switchyard train get v1.4.0', "each target's release of v1.4.0 in dependency order"),
    ],
    exits: { 0: true, 1: true, 2: 'no or an unknown subcommand' },
  },
  'train list': {
    examples: [
      ex('switchyard train list', 'version, targets, how many switched, in flight or ended'),
      ex('switchyard train list -o json', 'every train drawn, as data'),
    ],
    exits: readExits,
  },
  'train get': {
    examples: [
      ex(
        'switchyard train get v1.4.0',
        'order, release, phase, switch time, dependencies and what each member waits for',
      ),
      ex('switchyard train get v1.4.0 -o yaml', 'as YAML'),
    ],
    exits: { 0: true, 1: true, 2: 'no release train of that version' },
  },
  'train watch': {
    examples: [
      ex(
        'switchyard train watch v1.4.0',
        'redraw the train at each change until every member ended; exit code 0 only if all Succeeded',
      ),
      ex('switchyard train watch v1.4.0 --timeout 3600 -o json', 'one JSON document per change'),
    ],
    exits: {
      0: 'every member Succeeded',
      1: 'timeout, or Firestore unreachable',
      2: 'no release train of that version',
      4: 'a member ended RolledBack, Aborted, Failed or Superseded',
    },
  },
  push: {
    examples: [
      ex(
        'switchyard push us-docker.pkg.dev/acme/apps/api@sha256:6ec1…0a2f --tag v1.2.0',
        'on the local stack, put the image into its registry, whose notification starts the release; elsewhere, publish what Artifact Registry publishes for a push',
      ),
    ],
    exits: { 0: 'published', 1: true, 2: 'not an image by digest, or bad options' },
  },
  ...Object.fromEntries(
    controlCommands.map((name) => [name, { examples: controlExamples[name], exits: controlExits }]),
  ),
  dev: {
    examples: [
      ex('switchyard dev up', 'start the local stack'),
      ex('switchyard dev status', 'what runs and how to reach it'),
      ex('switchyard dev down', 'stop it'),
    ],
    exits: { 0: true, 1: true, 2: 'no or an unknown subcommand' },
  },
  'dev up': {
    examples: [
      ex('switchyard dev up', 'start every part that is not running (harmless when all run)'),
      ex(
        'switchyard dev up && eval "$(switchyard dev status -o env)"',
        'and point gcloud-style clients and kubectl at it',
      ),
    ],
    exits: { 0: 'every part runs', 1: 'a part did not start', 2: true },
  },
  'dev down': {
    examples: [ex('switchyard dev down', 'stop every part; no process is left behind')],
    exits: { 0: true, 1: true },
  },
  'dev status': {
    examples: [
      ex('switchyard dev status -o json', 'project, emulator hosts, kubeconfig and the state of each part'),
      ex('eval "$(switchyard dev status -o env)"', 'export the variables that point clients at the stack'),
    ],
    exits: { 0: 'every part runs', 1: 'a part is not running', 2: true },
  },
  demo: {
    examples: [
      ex('switchyard demo', 'tell the story on the local stack (started and stopped for it unless it runs)'),
      ex('switchyard demo --keep', 'leave the stack running afterwards, to look around'),
      ex('switchyard demo --stack-dir .switchyard/other', 'run it on the stack kept in another folder'),
    ],
    exits: { 0: 'every act ended as the story says', 1: 'an act did not' },
  },
};

/** The words of a command after `switchyard`. */
export function commandName(cmd: Command): string {
  const words: string[] = [];
  for (let c: Command | null = cmd; c?.parent; c = c.parent) words.unshift(c.name());
  return words.join(' ');
}

function exitCodeList(entry: HelpEntry | undefined): { code: number; meaning: string }[] {
  if (!entry) return [];
  return Object.entries(entry.exits).map(([code, meaning]) => ({
    code: Number(code),
    meaning:
      typeof meaning === 'string'
        ? meaning
        : (exitCodeDocs.find((d) => d.code === Number(code))?.meaning ?? ''),
  }));
}

/** The text `--help` prints after commander's own: Examples, then Exit codes. */
export function helpAfter(name: string): string {
  const entry = commandHelp[name];
  if (!entry) return '';
  const examples = entry.examples.flatMap((e) => [`  # ${e.description}`, `  ${e.command}`]);
  const exits = exitCodeList(entry).map(
    (e) => `  ${String(e.code).padEnd(4)} ${wrap(e.meaning, 72).join(`\n${' '.repeat(7)}`)}`,
  );
  return ['', 'Examples:', ...examples, '', 'Exit codes:', ...exits].join('\n');
}

/** Words of `text` in lines of at most `columns` characters. */
function wrap(text: string, columns: number): string[] {
  const lines: string[] = [];
  let line = '';
  for (const word of text.split(' ')) {
    if (line && line.length + 1 + word.length > columns) {
      lines.push(line);
      line = word;
    } else {
      line = line ? `${line} ${word}` : word;
    }
  }
  return [...lines, line];
}

/** Every command under `program`, depth first. */
export function allCommands(program: Command): Command[] {
  return program.commands.flatMap((c) => [c, ...allCommands(c)]);
}

function optionDocs(cmd: Command): OptionDoc[] {
  return cmd.options
    .filter((o) => !o.hidden)
    .map((o) => ({
      flags: o.flags,
      description: o.description,
      default: o.defaultValue === undefined || o.negate ? null : String(o.defaultValue),
    }));
}

/** The documentation of every command of a program built by buildProgram(), root excluded. */
export function commandDocs(program: Command): CommandDoc[] {
  return allCommands(program).map((cmd) => {
    const name = commandName(cmd);
    const entry = commandHelp[name];
    return {
      name,
      usage: `switchyard ${name} ${cmd.usage()}`.trimEnd(),
      summary: cmd.description(),
      examples: entry?.examples ?? [],
      options: optionDocs(cmd),
      exitCodes: exitCodeList(entry),
    };
  });
}

/** Options of the root command, which every command takes (e.g. --project). */
export function globalOptionDocs(program: Command): OptionDoc[] {
  return optionDocs(program);
}

/** Adds the Examples and Exit codes sections to the `--help` of the program and every command. */
export function applyHelp(program: Command): void {
  for (const cmd of [program, ...allCommands(program)]) {
    cmd.addHelpText('after', helpAfter(commandName(cmd)));
  }
}
