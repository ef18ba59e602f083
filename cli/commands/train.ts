// `switchyard train list|get|watch`: release trains (SPEC §10) drawn from the stored targets and their
// releases: each member's release of the version in dependency order, its phase and what it waits
// for. `promote --train` and `abort --train` (control.ts) act on every release of one.
import { Command, Option } from 'commander';
import type { Release } from '../../shared/engine/release.ts';
import { inTrain } from '../../shared/engine/train-graph.ts';
import type { Backend } from '../backend.ts';
import { withBackend } from '../backend.ts';
import { CliError, exitCodes } from '../exit-codes.ts';
import { type OutputFormat, outputOption, positive, print, printItem, table } from '../output.ts';
import {
  buildTrain,
  drawTrain,
  type TrainTarget,
  type TrainView,
  trainVersions,
} from '../views/train-view.ts';

/** Releases read per target: a train's version is among a target's recent releases. */
const releasesPerTarget = 20;

/** The stored targets as train members, and their recent releases. */
async function readTrains(b: Backend): Promise<{ targets: TrainTarget[]; releases: Map<string, Release[]> }> {
  const { targets: stored } = await b.targets.list();
  const targets = stored.map((s) => ({
    name: s.target.metadata.name,
    dependsOn: s.target.spec.dependsOn ?? [],
  }));
  const inTrains = targets.filter((t) => inTrain(t.name, targets));
  const releases = new Map(
    await Promise.all(
      inTrains.map(async (t) => [t.name, await b.store.releasesOf(t.name, releasesPerTarget)] as const),
    ),
  );
  return { targets, releases };
}

/** The train of `version`, or a not-found error that says how to list them. */
export async function readTrain(b: Backend, version: string): Promise<TrainView> {
  const { targets, releases } = await readTrains(b);
  const view = buildTrain(version, targets, releases);
  if (!view) {
    throw new CliError(
      exitCodes.invalidInput,
      `no release train of version ${version}: no target in a train has a release of it; \`switchyard train list\` lists the versions`,
    );
  }
  return view;
}

function listCommand(): Command {
  return new Command('list')
    .description('list the versions of release trains, newest first')
    .addOption(outputOption())
    .action(async (opts: { output: OutputFormat }) => {
      await withBackend(async (b) => {
        const { targets, releases } = await readTrains(b);
        const views = trainVersions(targets, releases).map((v) => buildTrain(v.version, targets, releases)!);
        print(opts.output, views, (vs) =>
          vs.length === 0
            ? 'no release trains: give a target spec.dependsOn, then push the same tag to its members'
            : table(
                ['VERSION', 'TARGETS', 'SWITCHED', 'STATE'],
                vs.map((v) => [
                  v.version,
                  String(v.members.length),
                  String(v.members.filter((m) => m.release?.switchedAt).length),
                  v.ended ? 'ended' : 'in flight',
                ]),
              ),
        );
      });
    });
}

function getCommand(): Command {
  return new Command('get')
    .description(
      "draw a release train: each target's release of the version, in dependency order, with its phase and what it waits for",
    )
    .argument('<version>', 'the version (a tag, or its versionGroup)')
    .addOption(outputOption())
    .action(async (version: string, opts: { output: OutputFormat }) => {
      await withBackend(async (b) => {
        const view = await readTrain(b, version);
        print(opts.output, view, (v) => drawTrain(v, Date.now()));
      });
    });
}

function watchCommand(): Command {
  return new Command('watch')
    .description(
      'follow a release train until every member has ended; exit 0 when all succeeded, 4 otherwise',
    )
    .argument('<version>', 'the version (a tag, or its versionGroup)')
    .addOption(
      new Option('--timeout <seconds>', 'give up after this long (exit 1)')
        .default(1800)
        .argParser((v) => positive(v)),
    )
    .addOption(outputOption())
    .action(async (version: string, opts: { timeout: number; output: OutputFormat }) => {
      await withBackend(async (b) => {
        const deadline = Date.now() + opts.timeout * 1000;
        let last = '';
        for (;;) {
          const view = await readTrain(b, version);
          const key = JSON.stringify(
            view.members.map((m) => [m.release?.id, m.release?.phase, m.release?.reason]),
          );
          if (key !== last) {
            last = key;
            if (opts.output === 'text') process.stdout.write(`${drawTrain(view, Date.now())}\n\n`);
            else printItem(opts.output, view);
          }
          if (view.ended) {
            const ok = view.members.every((m) => !m.release || m.release.phase === 'Succeeded');
            process.exitCode = ok ? exitCodes.ok : exitCodes.releaseNotSucceeded;
            return;
          }
          if (Date.now() > deadline) {
            throw new CliError(
              exitCodes.failure,
              `release train ${version} did not end within ${opts.timeout} s`,
            );
          }
          await new Promise((r) => setTimeout(r, 1000));
        }
      });
    });
}

export function trainCommand(): Command {
  return new Command('train')
    .description('release trains: the releases of one version across targets that depend on each other')
    .addCommand(listCommand())
    .addCommand(getCommand())
    .addCommand(watchCommand());
}
