// The release commands of the real CLI (bin/switchyard) against the local stack: push; get's tree of
// a blue-green and of a canary release; watch as plain lines, JSON lines and on a terminal, with the
// exit code of the release's outcome and Ctrl-C; control commands applied and refused with what to
// do; list and history with cause and who asked; unknown names with exit code 2 and a hint.
import { afterEach, describe, expect, it } from 'vitest';
import type { HistoryEntry } from '../../cli/views/history.ts';
import type { GetView } from '../../cli/views/release-view.ts';
import { waitFor } from '../../infra/local/process.ts';
import { digestOf, type Fixture, releaseFixture } from '../support/release.ts';
import { start, switchyard } from './cli.ts';

/** A digest as the views print it: sha256 and its first 12 hex digits. */
const short = (n: number) => digestOf(n).slice(0, 'sha256:'.length + 12);

const ESC = '\u001b';
const esc = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
/** A plain line of watch: local ISO time, then the release. */
const transitionLine = (id: string) =>
  new RegExp(`^\\d{4}-\\d\\d-\\d\\dT\\d\\d:\\d\\d:\\d\\d\\.\\d{3}(Z|[+-]\\d\\d:\\d\\d)  ${esc(id)}  `);

/** Waits until a running command has printed `text`. */
function printed(out: () => string, text: string): Promise<true> {
  return waitFor(() => (out().includes(text) ? true : undefined), {
    timeoutMs: 60_000,
    what: `output with ${text}`,
  });
}

let f: Fixture | undefined;
afterEach(async () => {
  await f?.close();
  f = undefined;
});

/** Each test drives a release and a dozen CLI processes on a shared two-core machine. */
const budget = 300_000;

describe('switchyard release commands', () => {
  it(
    'blue-green: get draws the tree, watch follows promote to Succeeded (plain lines and terminal), a refusal says what to do, history says who',
    async () => {
      f = await releaseFixture('cli', { preview: true, blueGreen: { autoPromotionEnabled: false } });
      const id = `${f.name}-1`;
      const pushed = await switchyard(['push', f.image(2), '--tag', 'v2']);
      expect(pushed.code, pushed.stderr).toBe(0);
      expect(pushed.stdout).toContain(`pushed ${f.image(2)} (tag v2) to the stack's registry`);
      const waiting = await f.waitRelease(id, (r) => r.phase === 'AwaitingPromotion');
      const blue = waiting.stable!;
      const green = waiting.candidate!;

      const tree = await switchyard(['get', f.name]);
      expect(tree.code, tree.stderr).toBe(0);
      const lines = tree.stdout.split('\n');
      expect(lines.slice(0, 5)).toEqual([
        `Name:            ${id}`,
        `Namespace:       ${f.namespace}`,
        expect.stringMatching(new RegExp(`^Target: +${f.name} \\(workload api, cluster context:\\S+\\)$`)),
        'Strategy:        BlueGreen',
        'Status:          ॥ AwaitingPromotion',
      ]);
      expect(tree.stdout).toMatch(
        new RegExp(`^Images: +${esc(f.repository)}@${short(1)} \\(stable, active\\)$`, 'm'),
      );
      expect(tree.stdout).toMatch(new RegExp(`^ +${esc(f.repository)}:v2@${short(2)} \\(preview\\)$`, 'm'));
      expect(tree.stdout).toMatch(new RegExp(`^⟳ ${f.name} +Target +॥ AwaitingPromotion +${id} `, 'm'));
      expect(tree.stdout).toMatch(new RegExp(`^[├└]──# revision:${green.revision} +from ${id}$`, 'm'));
      expect(tree.stdout).toMatch(
        new RegExp(
          `^[│ ] {2}└──⧉ ${green.deployment} +Deployment +✔ Healthy +preview {2}ready:3/3 {2}v2 {2}${short(2)}$`,
          'm',
        ),
      );
      expect(tree.stdout).toMatch(
        new RegExp(
          `^[│ ] {2}└──⧉ ${blue.deployment} +Deployment +✔ Healthy +stable,active {2}ready:3/3 {2}${short(1)}$`,
          'm',
        ),
      );

      const view = JSON.parse((await switchyard(['get', f.name, '-o', 'json'])).stdout) as GetView;
      expect(view.release).toMatchObject({ id, phase: 'AwaitingPromotion', tag: 'v2', blue, green });
      expect(view.revisions).toEqual(
        expect.arrayContaining([
          expect.objectContaining({
            revision: green.revision,
            deployment: green.deployment,
            digest: digestOf(2),
            tag: 'v2',
            desired: 3,
            ready: 3,
            roles: ['preview'],
          }),
          expect.objectContaining({
            revision: blue.revision,
            desired: 3,
            ready: 3,
            roles: ['stable', 'active'],
          }),
        ]),
      );

      // Two watchers, one piped (plain lines) and one at a terminal (redrawn), both attached before the promote.
      const plain = start(['watch', f.name]);
      const terminal = start(['watch', id], { terminal: true });
      await printed(plain.output, '→ AwaitingPromotion');
      await printed(terminal.output, 'Status:          ॥ AwaitingPromotion');
      const promoted = await switchyard(['promote', f.name, '--reason', 'looks good']);
      expect(promoted.code, promoted.stderr).toBe(0);
      expect(promoted.stdout).toContain(`promote applied to ${id}`);

      const watched = await plain.done;
      expect(watched.code, watched.stderr).toBe(0);
      const watchedLines = watched.stdout.trim().split('\n');
      expect(watchedLines.slice(0, -1).every((l) => transitionLine(id).test(l))).toBe(true);
      expect(watched.stdout).toMatch(
        new RegExp(
          `  ${id}  AwaitingPromotion → Switching  promote  by cli-test: promoted \\(looks good\\)$`,
          'm',
        ),
      );
      expect(watchedLines.at(-1)).toMatch(new RegExp(`^${id} ✔ Succeeded`));
      expect(watched.stdout).not.toContain(ESC);

      const drawn = await terminal.done;
      expect(drawn.code, drawn.stdout).toBe(0);
      expect(drawn.stdout).toContain('Status:          ✔ Succeeded');
      // Redrawn in place at least once: cursor up over the last frame, clear to the end of the screen.
      expect(drawn.stdout).toMatch(new RegExp(`${ESC}\\[\\d+A\\r${ESC}\\[0J`));

      const refused = await switchyard(['promote', f.name]);
      expect(refused.code).toBe(3);
      expect(refused.stderr.trim()).toBe(
        `switchyard promote: refused: release ${id} is Succeeded; the release has ended; \`switchyard history ${f.name}\` shows how, and a new push or \`switchyard retry ${f.name}\` starts another`,
      );

      const list = JSON.parse(
        (await switchyard(['list', '--target', f.name, '-o', 'json'])).stdout,
      ) as unknown[];
      expect(list).toEqual([expect.objectContaining({ id, phase: 'Succeeded', tag: 'v2', trigger: 'push' })]);

      const history = await switchyard(['history', f.name]);
      expect(history.code, history.stderr).toBe(0);
      const rows = history.stdout.split('\n');
      expect(rows[0]).toBe(`${id}  ✔ Succeeded  push tag v2  ${f.image(2)}`);
      expect(rows[1]?.trim().split(/ {2,}/)).toEqual(['TIME', 'FROM → TO', 'CAUSE', 'BY', 'REASON']);
      expect(rows).toContainEqual(
        expect.stringMatching(
          /^ {2}\S+ {2}AwaitingPromotion → Switching +promote +cli-test +promoted \(looks good\)$/,
        ),
      );
      expect(rows).toContainEqual(
        expect.stringMatching(
          /^ {2}\S+ {2}Succeeded → Succeeded +promote +cli-test +refused: promote: release \S+ is Succeeded$/,
        ),
      );
      const entries = JSON.parse((await switchyard(['history', id, '-o', 'json'])).stdout) as HistoryEntry[];
      expect(entries.map((e) => e.id)).toEqual([id]);
      expect(entries[0]?.transitions).toContainEqual({
        at: expect.stringMatching(/Z$/),
        from: 'AwaitingPromotion',
        to: 'Switching',
        cause: 'promote',
        by: 'cli-test',
        reason: 'promoted (looks good)',
        commands: expect.any(Array),
      });

      const after = await switchyard(['get', f.name]);
      expect(after.stdout).toContain('Status:          ✔ Succeeded');
      expect(after.stdout).toMatch(new RegExp(`⧉ ${green.deployment} +Deployment +✔ Healthy +stable,active`));
      expect(after.stdout).toMatch(new RegExp(`⧉ ${blue.deployment} +Deployment +• ScaledDown +ready:0/0`));
    },
    budget,
  );

  it(
    'watch exits 4 when the release rolls back and 0 for one that succeeded; unknown names exit 2 with a hint',
    async () => {
      f = await releaseFixture('cli-fail', { progressDeadlineSeconds: 5 });
      const id = `${f.name}-1`;
      await f.push('bad0'); // never ready: rolled back after the progress deadline
      await f.waitReleaseNumber(1);
      const watched = await switchyard(['watch', f.name]);
      expect(watched.code, watched.stderr).toBe(4);
      expect(watched.stdout).toMatch(new RegExp(`  ${id}  \\S+ → RollingBack  `));
      expect(watched.stdout.trim().split('\n').at(-1)).toMatch(new RegExp(`^${id} ✖ RolledBack: `));

      // Started before the push, a watch for the tag waits for its release instead of reporting the last one.
      const forV2 = start(['watch', f.name, '--tag', 'v2']);
      await printed(forV2.errors, `switchyard watch: ${f.name} has no release with tag v2; waiting for one`);
      await f.push(2);
      const succeeded = await forV2.done;
      expect(succeeded.code, succeeded.stderr).toBe(0);
      expect(succeeded.stdout).toMatch(new RegExp(`^${f.name}-2 ✔ Succeeded`, 'm'));
      expect((await switchyard(['watch', `${f.name}-2`])).code).toBe(0);
      expect((await switchyard(['watch', id])).code).toBe(4);
      expect((await switchyard(['watch', id, '--tag', 'v2'])).code).toBe(2);

      const targetHint = (command: string) =>
        `switchyard ${command}: target no-such-target not found; \`switchyard targets\` lists targets`;
      const releaseHint = (command: string) =>
        `switchyard ${command}: release ${f!.name}-9 not found for target ${f!.name}; \`switchyard list --target ${f!.name}\` lists its releases`;
      const cases: [string[], string][] = [
        [['get', 'no-such-target'], `${targetHint('get')} (and \`switchyard list\` lists releases)`],
        [['watch', 'no-such-target'], `${targetHint('watch')} (and \`switchyard list\` lists releases)`],
        [['history', 'no-such-target'], `${targetHint('history')} (and \`switchyard list\` lists releases)`],
        [['promote', 'no-such-target'], targetHint('promote')],
        [['list', '--target', 'no-such-target'], targetHint('list')],
        [['get', `${f.name}-9`], releaseHint('get')],
        [['abort', f.name, '--release', `${f.name}-9`], releaseHint('abort')],
      ];
      const runs = await Promise.all(cases.map(([args]) => switchyard(args)));
      expect(
        runs.map((run, i) => ({ args: cases[i]![0], code: run.code, stderr: run.stderr.trim() })),
      ).toEqual(cases.map(([args, message]) => ({ args, code: 2, stderr: message })));
      const notByDigest = await switchyard(['push', `${f.repository}:v3`]);
      expect(notByDigest.code).toBe(2);
      expect(notByDigest.stderr).toContain('is not an image by digest');
    },
    budget,
  );

  it(
    'canary: get shows the step, the weight asked and in force; watch -o json streams transitions, stops on Ctrl-C (130), exits 0 after promote --full',
    async () => {
      f = await releaseFixture('cli-canary', {
        replicas: 4,
        canary: { steps: [{ setWeight: 50 }, { pause: {} }] },
      });
      const id = `${f.name}-1`;
      await f.push(2);
      const r = await f.waitRelease(id, (x) => x.phase === 'AwaitingPromotion');

      const text = await switchyard(['get', f.name]);
      expect(text.code, text.stderr).toBe(0);
      expect(text.stdout).toContain(
        [
          'Strategy:        Canary',
          '  Step:          1/2  pause (until promote)',
          '  SetWeight:     50',
          '',
        ].join('\n'),
      );
      // Replica ratio: the router says how it worked the weight out.
      expect(text.stdout).toMatch(
        /^ {2}ActualWeight: {2}50 \(50% by replica ratio: .*\)\nStatus: {10}॥ AwaitingPromotion$/m,
      );
      expect(text.stdout).toMatch(
        new RegExp(`⧉ ${r.candidate!.deployment} +Deployment +✔ Healthy +canary {2}ready:2/2 {2}v2 `),
      );
      expect(text.stdout).toMatch(
        new RegExp(`⧉ ${r.stable!.deployment} +Deployment +✔ Healthy +stable {2}ready:(\\d+)/\\1 `),
      );
      const view = JSON.parse((await switchyard(['get', id, '-o', 'json'])).stdout) as GetView;
      expect(view.canary).toMatchObject({
        stepIndex: 1,
        steps: 2,
        setWeight: 50,
        actualWeight: 50,
        accepted: true,
      });
      expect(view.revisions?.find((x) => x.roles.includes('canary'))).toMatchObject({ desired: 2, ready: 2 });

      const interrupted = start(['watch', f.name, '-o', 'json']);
      await printed(interrupted.output, '"to":"AwaitingPromotion"');
      interrupted.child.kill('SIGINT');
      const stopped = await interrupted.done;
      expect(stopped.code, stopped.stderr).toBe(130);
      expect(JSON.parse(stopped.stdout.split('\n')[0]!)).toMatchObject({
        release: id,
        target: f.name,
        from: null,
        to: 'Pending',
        cause: 'push',
      });

      const following = start(['watch', id, '-o', 'json']);
      await printed(following.output, '"to":"AwaitingPromotion"');
      const promoted = await switchyard(['promote', f.name, '--full']);
      expect(promoted.code, promoted.stderr).toBe(0);
      const done = await following.done;
      expect(done.code, done.stderr).toBe(0);
      const items = done.stdout
        .trim()
        .split('\n')
        .map((l) => JSON.parse(l) as { to: string; cause: string; by: string | null; reason: string | null });
      expect(items).toContainEqual(
        expect.objectContaining({ cause: 'promote', by: 'cli-test', reason: 'promoted (full)' }),
      );
      expect(items.at(-1)?.to).toBe('Succeeded');
    },
    budget,
  );
});
