// Release commands: push, the control commands (promote, abort, retry, restart, undo, pause, resume),
// and get / list / history / watch.

import { randomUUID } from 'node:crypto';
import { userInfo } from 'node:os';
import type { DocumentReference } from '@google-cloud/firestore';
import { Command, Option } from 'commander';
import { firestoreClient, pubsubClient } from '../../shared/adapters/clients.ts';
import { type RequestRecord, Store } from '../../shared/adapters/store.ts';
import { config } from '../../shared/config.ts';
import { isTerminal, type Release, type Workload } from '../../shared/engine/release.ts';
import { strategyOf } from '../../shared/engine/target.ts';
import { KubernetesCluster } from '../../shared/kubernetes/cluster.ts';
import { connect } from '../../shared/kubernetes/connect.ts';
import { type ControlCommand, type ControlMessage, controlCommands } from '../../shared/messages.ts';
import { artifactRegistryTopic, topology } from '../../shared/topology.ts';
import { type OutputFormat, parseOutputFormat, print } from '../output.ts';

/** Exit codes scripts can trust. */
export const exitCodes = { ok: 0, failure: 1, invalid: 2, refused: 3, releaseFailed: 4 } as const;

const outputOption = () =>
  new Option('-o, --output <format>', 'json, yaml or text').default('text').argParser(parseOutputFormat);

function clients() {
  const cfg = config();
  const db = firestoreClient(cfg);
  return { cfg, db, store: new Store(db), pubsub: pubsubClient(cfg), topology: topology(cfg.prefix) };
}

function who(): string {
  return process.env.SWITCHYARD_USER ?? `${userInfo().username}@cli`;
}

export function pushCommand(): Command {
  return new Command('push')
    .description('publish an Artifact Registry notification for an image (as a real push would)')
    .argument('<image>', 'image by digest: host/project/repo/image@sha256:…')
    .option('--tag <tag>', 'the tag pushed with it')
    .option('--delete', 'publish a DELETE instead of an INSERT')
    .addHelpText(
      'after',
      '\nExample:\n  switchyard push us-docker.pkg.dev/acme/apps/api@sha256:6ec1… --tag v1.2.0',
    )
    .action(async (image: string, opts: { tag?: string; delete?: boolean }) => {
      const at = image.indexOf('@');
      if (at < 0) {
        process.stderr.write(
          `switchyard push: ${image} has no @sha256 digest; Switchyard releases images by digest\n`,
        );
        process.exitCode = exitCodes.invalid;
        return;
      }
      const repository = image.slice(0, at);
      const { pubsub } = clients();
      const message = {
        action: opts.delete ? 'DELETE' : 'INSERT',
        digest: image,
        ...(opts.tag ? { tag: `${repository}:${opts.tag}` } : {}),
      };
      const id = await pubsub.topic(artifactRegistryTopic).publishMessage({ json: message });
      await pubsub.close();
      process.stdout.write(
        `published ${message.action} of ${image}${opts.tag ? ` (tag ${opts.tag})` : ''} as message ${id}\n`,
      );
    });
}

const controlHelp: Record<ControlCommand, string> = {
  promote: 'leave a pause (AwaitingPromotion); with --full skip remaining steps and analysis',
  abort: 'stop the release: traffic stays on (or goes back to) blue, green is scaled down',
  retry: 'start a failed, aborted or rolled-back release again',
  restart: 'release the stable image again as a new revision (after a ConfigMap or Secret change)',
  undo: 'go back to the previous revision (fast while it is still warm)',
  pause: 'hold the release where it is',
  resume: 'continue a paused release',
};

export function controlCommandsFor(): Command[] {
  return controlCommands.map((name) => {
    const cmd = new Command(name)
      .description(controlHelp[name])
      .argument('<target>', 'the target')
      .option('--release <id>', "the release (default: the target's current one)")
      .option('--reason <text>', 'why, for the history')
      .option('--no-wait', 'do not wait for the answer')
      .addOption(outputOption())
      .addHelpText(
        'after',
        `\nExit codes: 0 applied, 3 refused (the reason is printed), 1 no answer or error.\nExample:\n  switchyard ${name} api --reason "checked the preview"`,
      );
    if (name === 'promote') cmd.option('--full', 'skip the remaining steps and analysis');
    return cmd.action(
      async (
        target: string,
        opts: { release?: string; reason?: string; wait: boolean; full?: boolean; output: OutputFormat },
      ) => {
        const { store, pubsub, topology: t, db } = clients();
        const msg: ControlMessage = {
          command: name,
          target,
          ...(opts.release ? { release: opts.release } : {}),
          full: opts.full ?? false,
          requestedBy: who(),
          ...(opts.reason ? { reason: opts.reason } : {}),
          requestId: randomUUID(),
        };
        try {
          await pubsub
            .topic(t.controlTopic)
            .publishMessage({ json: msg, attributes: { target, command: name } });
          if (!opts.wait) {
            print(
              opts.output,
              { requestId: msg.requestId, published: true },
              () => `sent ${name} for ${target} (request ${msg.requestId})`,
            );
            return;
          }
          const answer = await waitForDoc<RequestRecord>(store.requestRef(msg.requestId), 60_000);
          if (!answer) {
            process.stderr.write(
              `switchyard ${name}: no answer within 60 s; is the control function running? (request ${msg.requestId})\n`,
            );
            process.exitCode = exitCodes.failure;
            return;
          }
          print(opts.output, answer, (a) =>
            a.outcome === 'applied' ? `${name} applied to ${a.releaseId}` : `${name} refused: ${a.reason}`,
          );
          if (answer.outcome === 'refused') process.exitCode = exitCodes.refused;
        } finally {
          await pubsub.close();
          await db.terminate();
        }
      },
    );
  });
}

/** Resolves with the document's data once it exists (Firestore listener), or null after the timeout. */
function waitForDoc<T>(ref: DocumentReference, timeoutMs: number): Promise<T | null> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      stop();
      resolve(null);
    }, timeoutMs);
    const stop = ref.onSnapshot(
      (snap) => {
        if (!snap.exists) return;
        clearTimeout(timer);
        stop();
        resolve(snap.data() as T);
      },
      (err) => {
        clearTimeout(timer);
        reject(err);
      },
    );
  });
}

interface RevisionView {
  revision: string;
  deployment: string;
  image: string;
  desired: number;
  ready: number;
  roles: string[];
}

export interface TargetView {
  target: string;
  namespace: string | null;
  workload: Workload;
  release: Release | null;
  revisions: RevisionView[];
}

async function targetView(store: Store, name: string): Promise<TargetView | null> {
  const target = await store.target(name);
  if (!target) return null;
  const workload = await store.workload(name);
  const releaseId = workload.inFlight ?? workload.queued ?? workload.lastRelease;
  const release = releaseId ? await store.release(releaseId) : null;
  const revisions: RevisionView[] = [];
  try {
    const cluster = new KubernetesCluster(await connect(target.spec.cluster, config().kubeconfig));
    const bg = strategyOf(target);
    const services = [bg.activeService, ...(bg.previewService ? [bg.previewService] : [])];
    const snap = await cluster.snapshot(target.spec.namespace, target.spec.workload, services);
    for (const [revision, r] of Object.entries(snap.revisions)) {
      const roles: string[] = [];
      if (snap.services[bg.activeService]?.selector['switchyard.dev/revision'] === revision)
        roles.push('active');
      if (
        bg.previewService &&
        snap.services[bg.previewService]?.selector['switchyard.dev/revision'] === revision
      ) {
        roles.push('preview');
      }
      if (workload.stable?.revision === revision) roles.push('stable');
      if (release?.green?.revision === revision && !isTerminal(release.phase)) {
        roles.push(release.canary ? 'canary' : 'green');
      }
      revisions.push({
        revision,
        deployment: r.name,
        image: Object.values(r.images)[0] ?? '',
        desired: r.desired,
        ready: r.ready,
        roles,
      });
    }
  } catch (err) {
    process.stderr.write(`(cluster not reachable: ${err instanceof Error ? err.message : String(err)})\n`);
  }
  return { target: name, namespace: target.spec.namespace, workload, release, revisions };
}

/** The analysis runs of a release: each metric's phase and its measurements (value, phase, time). */
function analysisLines(r: Release): string[] {
  const lines: string[] = [];
  for (const run of [
    r.analysis?.pre,
    r.analysis?.post,
    r.canary?.background,
    ...(r.canary?.stepRuns ?? []),
  ]) {
    if (!run) continue;
    const names = {
      pre: 'pre-promotion',
      post: 'post-promotion',
      background: 'background',
      step: 'step',
    } as const;
    lines.push(`  Analysis ${names[run.kind]}: ${run.phase}${run.message ? ` (${run.message})` : ''}`);
    for (const m of run.metrics) {
      lines.push(
        `    ${m.spec.dryRun ? '(dry run) ' : ''}${m.spec.name} [${m.spec.provider.kind}] ${m.phase}: ${m.successful} ok, ${m.failed} failed, ${m.inconclusive} inconclusive, ${m.errors} errors`,
      );
      for (const x of m.measurements.slice(-5)) {
        const value = x.value === undefined ? '' : ` ${JSON.stringify(x.value)}`;
        lines.push(
          `      #${x.index + 1} ${new Date(x.startedAt).toISOString()} ${x.phase}${value}${x.message ? ` – ${x.message}` : ''}`,
        );
      }
    }
  }
  return lines;
}

function drawTarget(v: TargetView): string {
  const r = v.release;
  const lines = [`Target:     ${v.target}`, `Namespace:  ${v.namespace}`];
  if (r) {
    lines.push(
      `Release:    ${r.id} (${r.trigger.kind}${r.tag ? `, tag ${r.tag}` : ''})`,
      `Image:      ${r.image}`,
      `State:      ${r.phase}${r.paused ? ' (paused)' : ''}`,
    );
    if (r.reason) lines.push(`Reason:     ${r.reason}`);
  } else {
    lines.push('Release:    none yet');
  }
  if (r?.canary) {
    const inForce = r.canary.inForce;
    lines.push(
      `Step:       ${r.canary.step + 1} (weight asked ${r.canary.weight}%)`,
      `Weight:     ${inForce ? `${inForce.weight}% in force${inForce.accepted ? '' : ' (not yet accepted)'}${inForce.headerRoute ? `, header route ${inForce.headerRoute.name}` : ''}` : 'not read yet'}`,
    );
  }
  if (r) lines.push(...analysisLines(r));
  lines.push('', 'Revisions:');
  for (const rev of v.revisions) {
    lines.push(
      `  ${rev.roles.includes('active') ? '●' : '○'} ${rev.deployment}  ${rev.ready}/${rev.desired} ready  ${rev.roles.join(', ')}`,
      `      ${rev.image}`,
    );
  }
  return lines.join('\n');
}

export function getCommand(): Command {
  return new Command('get')
    .description('show a target (revisions, replicas, active and preview, current release) or a release')
    .argument('<name>', 'a target name or a release id (e.g. api-3)')
    .addOption(outputOption())
    .addHelpText('after', '\nExamples:\n  switchyard get api\n  switchyard get api-3 -o json')
    .action(async (name: string, opts: { output: OutputFormat }) => {
      const { store, db } = clients();
      try {
        const view = await targetView(store, name);
        if (view) return print(opts.output, view, drawTarget);
        const release = await store.release(name);
        if (release) return print(opts.output, release, drawRelease);
        process.stderr.write(
          `switchyard get: no target or release named ${name}; \`switchyard targets\` lists the targets\n`,
        );
        process.exitCode = exitCodes.invalid;
      } finally {
        await db.terminate();
      }
    });
}

function drawRelease(r: Release): string {
  const lines = [
    `Release:  ${r.id}`,
    `Target:   ${r.target}`,
    `Image:    ${r.image}`,
    `State:    ${r.phase}${r.paused ? ' (paused)' : ''}`,
  ];
  if (r.reason) lines.push(`Reason:   ${r.reason}`);
  if (r.blue) lines.push(`Blue:     ${r.blue.deployment}`);
  if (r.green) lines.push(`Green:    ${r.green.deployment}`);
  lines.push(...analysisLines(r), '', ...historyLines(r));
  return lines.join('\n');
}

function historyLines(r: Release): string[] {
  return r.history.map(
    (h) =>
      `  ${new Date(h.at).toISOString()}  ${(h.from ?? '-').padEnd(21)} -> ${h.to.padEnd(21)} ${h.cause}${h.by ? ` by ${h.by}` : ''}${h.reason ? `: ${h.reason}` : ''}`,
  );
}

export function listCommand(): Command {
  return new Command('list')
    .description('list releases, newest first')
    .option('--target <name>', "only this target's releases")
    .addOption(outputOption())
    .addHelpText('after', '\nExample:\n  switchyard list --target api -o json')
    .action(async (opts: { target?: string; output: OutputFormat }) => {
      const { store, db } = clients();
      try {
        const releases = opts.target ? await store.releasesOf(opts.target) : await store.allReleases();
        const rows = releases.map((r) => ({
          id: r.id,
          target: r.target,
          phase: r.phase,
          image: r.image,
          tag: r.tag ?? null,
          trigger: r.trigger.kind,
          createdAt: new Date(r.createdAt).toISOString(),
          reason: r.reason,
        }));
        print(opts.output, rows, (all) =>
          all
            .map(
              (r) =>
                `${r.id.padEnd(20)} ${r.phase.padEnd(22)} ${r.tag ?? r.image.slice(-19)}  ${r.reason ?? ''}`,
            )
            .join('\n'),
        );
      } finally {
        await db.terminate();
      }
    });
}

export function historyCommand(): Command {
  return new Command('history')
    .description('releases of a target and every transition: time, cause, who asked')
    .argument('<target>')
    .addOption(outputOption())
    .addHelpText('after', '\nExample:\n  switchyard history api')
    .action(async (target: string, opts: { output: OutputFormat }) => {
      const { store, db } = clients();
      try {
        const releases = await store.releasesOf(target);
        print(
          opts.output,
          releases.map((r) => ({
            id: r.id,
            phase: r.phase,
            image: r.image,
            history: r.history,
            analysis: r.analysis,
          })),
          () =>
            releases
              .map((r) =>
                [`${r.id}  ${r.phase}  ${r.image}`, ...historyLines(r), ...analysisLines(r)].join('\n'),
              )
              .join('\n\n'),
        );
      } finally {
        await db.terminate();
      }
    });
}

export function watchCommand(): Command {
  return new Command('watch')
    .description("follow a target's current release until it ends; exit 0 on Succeeded, 4 otherwise")
    .argument('<target>')
    .option('--timeout <seconds>', 'give up after this long (exit 1)', (v) => Number(v), 1800)
    .addHelpText(
      'after',
      '\nExit codes: 0 Succeeded, 4 ended otherwise, 1 timeout or error.\nExample:\n  switchyard watch api',
    )
    .action(async (target: string, opts: { timeout: number }) => {
      const { store, db } = clients();
      try {
        const workload = await store.workload(target);
        const id = workload.inFlight ?? workload.queued ?? workload.lastRelease;
        if (!id) {
          process.stderr.write(`switchyard watch: target ${target} has no release\n`);
          process.exitCode = exitCodes.invalid;
          return;
        }
        const final = await follow(store, id, opts.timeout * 1000);
        if (!final) process.exitCode = exitCodes.failure;
        else if (final.phase !== 'Succeeded') process.exitCode = exitCodes.releaseFailed;
      } finally {
        await db.terminate();
      }
    });
}

/** Prints each change of a release (a Firestore listener) until it ends; null on timeout. */
function follow(store: Store, id: string, timeoutMs: number): Promise<Release | null> {
  return new Promise((resolve, reject) => {
    let shown = 0;
    const timer = setTimeout(() => {
      stop();
      resolve(null);
    }, timeoutMs);
    const stop = store.releaseRef(id).onSnapshot(
      (snap) => {
        if (!snap.exists) return;
        const r = snap.data() as Release;
        for (const line of historyLines(r).slice(shown)) process.stdout.write(`${r.id}${line}\n`);
        shown = r.history.length;
        if (isTerminal(r.phase) && !r.cleanup) {
          clearTimeout(timer);
          stop();
          resolve(r);
        }
      },
      (err) => {
        clearTimeout(timer);
        reject(err);
      },
    );
  });
}
