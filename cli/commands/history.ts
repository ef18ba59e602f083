// `switchyard list` (releases, newest first) and `switchyard history <target|release>` (every
// transition with its time, cause, who asked and why).
import { Command, Option } from 'commander';
import type { Release } from '../../shared/engine/release.ts';
import { withBackend } from '../backend.ts';
import { lookup, requireTarget } from '../lookup.ts';
import { age, type OutputFormat, outputOption, positive, print, table } from '../output.ts';
import { phaseText } from '../views/draw.ts';
import { drawHistory, historyEntry } from '../views/history.ts';

const limitOption = () =>
  new Option('--limit <n>', 'at most this many releases')
    .default(50)
    .argParser((v) => Math.floor(positive(v)));

export function listCommand(): Command {
  return new Command('list')
    .description('list releases, newest first: phase, tag, trigger, age and reason')
    .option('--target <name>', "only this target's releases")
    .addOption(limitOption())
    .addOption(outputOption())
    .action(async (opts: { target?: string; limit: number; output: OutputFormat }) => {
      await withBackend(async (b) => {
        if (opts.target) await requireTarget(b.store, opts.target);
        const releases = opts.target
          ? await b.store.releasesOf(opts.target, opts.limit)
          : await b.store.allReleases(opts.limit);
        const rows = releases.map((r) => ({
          id: r.id,
          target: r.target,
          phase: r.phase,
          paused: r.paused,
          image: r.image,
          tag: r.tag ?? null,
          trigger: r.trigger.kind,
          createdAt: new Date(r.createdAt).toISOString(),
          reason: r.reason,
        }));
        const now = Date.now();
        print(opts.output, rows, (all) =>
          all.length === 0
            ? `No releases${opts.target ? ` of ${opts.target}` : ''} yet: \`switchyard push <image>\` starts one`
            : table(
                ['NAME', 'TARGET', 'STATUS', 'TAG', 'TRIGGER', 'AGE', 'REASON'],
                all.map((r) => [
                  r.id,
                  r.target,
                  phaseText(r.phase, r.paused),
                  r.tag ?? '-',
                  r.trigger,
                  age(Date.parse(r.createdAt), now),
                  r.reason ?? '',
                ]),
              ),
        );
      });
    });
}

export function historyCommand(): Command {
  return new Command('history')
    .description(
      "a target's releases, newest first, or one release, with every transition: local time, from → to, cause, who asked, reason",
    )
    .argument('<name>', 'a target, or a release id (e.g. api-3)')
    .addOption(limitOption())
    .addOption(outputOption())
    .action(async (name: string, opts: { limit: number; output: OutputFormat }) => {
      await withBackend(async (b) => {
        const found = await lookup(b.store, name);
        const releases: Release[] =
          found.kind === 'release'
            ? [found.release]
            : await b.store.releasesOf(found.target.name, opts.limit);
        print(opts.output, releases.map(historyEntry), drawHistory);
      });
    });
}
