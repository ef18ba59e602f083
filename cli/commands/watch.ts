// `switchyard watch <target|release>`: follows a release live through Firestore listeners (a
// document listener on a release; for a target, a query listener on its newest release, so a
// superseding release is followed too) — no polling. On a terminal the view is redrawn in place;
// otherwise each transition is one plain line (or one JSON line / YAML document with -o). The exit
// code is the outcome: 0 Succeeded, 4 ended otherwise, 1 timeout or error, 130 interrupted.
import { Command, Option } from 'commander';
import { collections } from '../../shared/adapters/collections.ts';
import { isTerminal } from '../../shared/engine/phase.ts';
import type { Release } from '../../shared/engine/release.ts';
import type { EngineTarget } from '../../shared/engine/target.ts';
import { type Backend, explainFailure, openBackend } from '../backend.ts';
import { CliError, exitCodes } from '../exit-codes.ts';
import { LiveRegion } from '../live.ts';
import { type Found, lookup } from '../lookup.ts';
import { type OutputFormat, outputOption, positive, printItem } from '../output.ts';
import { phaseText } from '../views/draw.ts';
import { transitionLine, transitionView } from '../views/history.ts';
import { buildView } from '../views/release-view.ts';
import { drawWatchFrame } from '../views/watch.ts';

type Ending =
  | { kind: 'ended'; release: Release }
  | { kind: 'timeout'; release: Release | null }
  | { kind: 'interrupted' };

/** How a followed release is shown: redrawn frames, plain lines, or data items. */
interface Display {
  show(release: Release, target: EngineTarget | null): void;
  end(ending: Ending): void;
}

function display(format: OutputFormat, tty: boolean): Display {
  const shown = new Map<string, number>();
  const fresh = (r: Release) => {
    const from = shown.get(r.id) ?? 0;
    shown.set(r.id, r.history.length);
    return r.history.slice(from).map(transitionView);
  };
  if (format !== 'text') {
    return {
      show: (r) => {
        for (const t of fresh(r)) printItem(format, { release: r.id, target: r.target, ...t });
      },
      end: () => {},
    };
  }
  // The verdict, last: what a person (or a log) reads first.
  const end = (e: Ending) => {
    if (e.kind === 'ended')
      process.stdout.write(
        `${e.release.id} ${phaseText(e.release.phase, e.release.paused)}${e.release.reason ? `: ${e.release.reason}` : ''}\n`,
      );
  };
  if (!tty) {
    return {
      show: (r) => {
        for (const t of fresh(r)) process.stdout.write(`${transitionLine(r.id, t)}\n`);
      },
      end,
    };
  }
  const region = new LiveRegion(process.stdout);
  return {
    show: (r, target) => {
      const view = buildView({
        targetName: r.target,
        target,
        workload: null,
        release: r,
        releases: [],
        snapshot: null,
        clusterError: null,
      });
      region.render(drawWatchFrame(view, r.history.map(transitionView), Date.now()));
    },
    end,
  };
}

/** Which of a target's releases to follow: the newest, or the newest of an image or tag. */
export interface Wanted {
  image?: string;
  tag?: string;
}

/** How many of a target's newest releases are looked at for one of an image or tag. */
const window = 10;

/** In words, for the waiting message: "a release", "a release of …@sha256:…", "a release with tag v2". */
export function describeWanted(w: Wanted): string {
  return [w.image ? `of ${w.image}` : '', w.tag ? `with tag ${w.tag}` : ''].filter(Boolean).join(' ');
}

/** The release to follow among a target's newest ones (newest first), or undefined. */
export function pick(releases: Release[], w: Wanted): Release | undefined {
  return releases.find((r) => (!w.image || r.image === w.image) && (!w.tag || r.tag === w.tag));
}

/** Follows the release (or the target's newest wanted one) until it ends, times out or is interrupted. */
function follow(
  b: Backend,
  found: Found,
  wanted: Wanted,
  timeoutMs: number | undefined,
  out: Display,
): Promise<Ending> {
  return new Promise((resolve, reject) => {
    let last: Release | null = null;
    let waitingSaid = false;
    const finish = (ending: Ending) => {
      stop();
      clearTimeout(timer);
      process.off('SIGINT', onInterrupt);
      resolve(ending);
    };
    const onInterrupt = () => finish({ kind: 'interrupted' });
    const timer =
      timeoutMs === undefined
        ? undefined
        : setTimeout(() => finish({ kind: 'timeout', release: last }), timeoutMs);
    process.once('SIGINT', onInterrupt);
    const seen = (r: Release) => {
      last = r;
      out.show(r, found.target);
      if (isTerminal(r.phase)) finish({ kind: 'ended', release: r });
    };
    const failed = (err: Error) => {
      stop();
      clearTimeout(timer);
      process.off('SIGINT', onInterrupt);
      reject(err);
    };
    const stop =
      found.kind === 'target'
        ? b.db
            .collection(collections.releases)
            .where('target', '==', found.target.name)
            .orderBy('number', 'desc')
            .limit(wanted.image || wanted.tag ? window : 1)
            .onSnapshot((snap) => {
              const release = pick(
                snap.docs.map((d) => d.data() as Release),
                wanted,
              );
              if (release) return seen(release);
              if (!waitingSaid) {
                waitingSaid = true;
                const which = describeWanted(wanted);
                process.stderr.write(
                  `switchyard watch: ${found.target.name} has no release ${which || 'yet'}; waiting for one (a push starts it)\n`,
                );
              }
            }, failed)
        : b.store.releaseRef(found.release.id).onSnapshot((snap) => {
            if (snap.exists) seen(snap.data() as Release);
          }, failed);
  });
}

export function watchCommand(): Command {
  return new Command('watch')
    .description(
      "follow a target's newest release (or one release) live until it ends; the exit code says how it ended",
    )
    .argument('<name>', 'a target, or a release id (e.g. api-3)')
    .addOption(
      new Option(
        '--timeout <seconds>',
        'give up after this long (exit code 1); default: until the release ends',
      ).argParser(positive),
    )
    .option(
      '--image <ref>',
      'with a target: follow its release of this image (repository@sha256:…), waiting for it',
    )
    .option('--tag <tag>', 'with a target: follow its release of this tag, waiting for it')
    .addOption(outputOption())
    .action(async (name: string, opts: Wanted & { timeout?: number; output: OutputFormat }) => {
      const b = await openBackend();
      // A second Ctrl-C, or a client that does not let go, still ends the process.
      const hardStop = () => setTimeout(() => process.exit(exitCodes.interrupted), 3000).unref();
      try {
        const found = await lookup(b.store, name);
        const wanted: Wanted = {
          ...(opts.image ? { image: opts.image } : {}),
          ...(opts.tag ? { tag: opts.tag } : {}),
        };
        if (found.kind === 'release' && (wanted.image || wanted.tag)) {
          throw new CliError(
            exitCodes.invalidInput,
            `--image and --tag choose among a target's releases; ${name} is a release: leave them out, or name its target ${found.release.target}`,
          );
        }
        const out = display(opts.output, process.stdout.isTTY === true);
        const ending = await follow(
          b,
          found,
          wanted,
          opts.timeout === undefined ? undefined : opts.timeout * 1000,
          out,
        ).catch((err: unknown) => {
          throw explainFailure(err);
        });
        out.end(ending);
        if (ending.kind === 'interrupted') {
          process.exitCode = exitCodes.interrupted;
          hardStop();
        } else if (ending.kind === 'timeout') {
          const r = ending.release;
          const again = r
            ? r.id
            : [
                name,
                ...(wanted.image ? ['--image', wanted.image] : []),
                ...(wanted.tag ? ['--tag', wanted.tag] : []),
              ].join(' ');
          const where = r
            ? `release ${r.id} is still ${r.phase}`
            : `no release ${describeWanted(wanted) || 'yet'}`;
          throw new CliError(
            exitCodes.failure,
            `gave up after ${opts.timeout} s; ${where}: \`switchyard watch ${again}\` goes on following it`,
          );
        } else {
          process.exitCode =
            ending.release.phase === 'Succeeded' ? exitCodes.ok : exitCodes.releaseNotSucceeded;
        }
      } finally {
        await b.close();
      }
    });
}
