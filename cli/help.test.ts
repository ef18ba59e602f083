import type { Command } from 'commander';
import { describe, expect, it } from 'vitest';
import {
  allCommands,
  commandDocs,
  commandHelp,
  commandName,
  exitCodeDocs,
  exitCodes,
  globalOptionDocs,
} from './help.ts';
import { buildProgram } from './program.ts';

/** What `switchyard <name> --help` prints. */
function helpOf(cmd: Command): string {
  let text = '';
  cmd.configureOutput({ writeOut: (s) => (text += s), writeErr: (s) => (text += s) });
  cmd.outputHelp();
  return text;
}

/** Commands that print no data, so have no -o: the groups, stopping the stack, and the demo story. */
const printsNothing = new Set(['dev', 'dev down', 'demo', 'train']);

const program = buildProgram();
const commands = allCommands(program);

describe('the help of every command', () => {
  it('covers every command of SPEC §11', () => {
    expect(commands.map(commandName).sort()).toEqual(
      [
        'abort',
        'apply',
        'demo',
        'dev',
        'dev down',
        'dev status',
        'dev up',
        'get',
        'history',
        'list',
        'pause',
        'promote',
        'push',
        'restart',
        'resume',
        'retry',
        'targets',
        'templates',
        'train',
        'train get',
        'train list',
        'train watch',
        'undo',
        'validate',
        'watch',
      ].sort(),
    );
  });

  it.each(commands.map((c) => [commandName(c), c] as const))(
    '%s: a description, examples and exit codes',
    (name, cmd) => {
      expect(cmd.description().length).toBeGreaterThan(10);
      const help = helpOf(cmd);
      expect(help).toMatch(/\nExamples:\n {2}# .+\n {2}\S*.*switchyard /);
      expect(help).toMatch(/\nExit codes:\n {2}0 {4}\S/);
      const hasOutput = cmd.options.some((o) => o.short === '-o' && o.long === '--output');
      expect(hasOutput, `${name} -o`).toBe(!printsNothing.has(name));
    },
  );

  it('the root lists every exit code', () => {
    const help = helpOf(program);
    for (const { code } of exitCodeDocs) expect(help).toMatch(new RegExp(`\\n {2}${code} +\\S`));
  });

  it('has no examples for commands that do not exist', () => {
    const names = new Set(['', ...commands.map(commandName)]);
    expect(Object.keys(commandHelp).filter((n) => !names.has(n))).toEqual([]);
  });
});

describe('commandDocs', () => {
  const docs = commandDocs(program);

  it('documents each command from its commander definition, with its examples', () => {
    expect(docs.map((d) => d.name)).toEqual(commands.map(commandName));
    const get = docs.find((d) => d.name === 'get')!;
    expect(get).toMatchObject({
      usage: 'switchyard get [options] <name>',
      summary: program.commands.find((c) => c.name() === 'get')!.description(),
      examples: expect.arrayContaining([{ command: 'switchyard get api', description: expect.any(String) }]),
      options: [{ flags: '-o, --output <format>', description: 'json, yaml or text', default: 'text' }],
      exitCodes: [
        { code: 0, meaning: expect.any(String) },
        { code: 1, meaning: expect.any(String) },
        { code: 2, meaning: expect.any(String) },
      ],
    });
    for (const doc of docs) {
      expect(doc.usage.startsWith(`switchyard ${doc.name}`)).toBe(true);
      expect(doc.examples.length, doc.name).toBeGreaterThan(0);
    }
  });

  it('uses only documented exit codes, and only the watches end with 4', () => {
    const documented = new Set(exitCodeDocs.map((d) => d.code));
    for (const doc of docs)
      for (const e of doc.exitCodes) expect(documented.has(e.code), `${doc.name} ${e.code}`).toBe(true);
    expect(
      docs
        .filter((d) => d.exitCodes.some((e) => e.code === exitCodes.releaseNotSucceeded))
        .map((d) => d.name)
        .sort(),
    ).toEqual(['train watch', 'watch']);
  });

  it('lists the global --project option', () => {
    expect(globalOptionDocs(program).map((o) => o.flags)).toContain('--project <id>');
  });
});

describe('exit codes', () => {
  it('keep their numbers: 0 ok, 1 failure, 2 invalid input, 3 refused, 4 release did not succeed', () => {
    expect(exitCodes).toMatchObject({
      ok: 0,
      failure: 1,
      invalidInput: 2,
      refused: 3,
      releaseNotSucceeded: 4,
    });
    expect(exitCodeDocs.map((d) => d.code)).toEqual(Object.values(exitCodes));
  });
});
