// What every act of the demo works with: the stack's clients, and the few moves a user makes —
// apply a file, push an image, send a control command, follow a release — done exactly as the CLI
// does them (same validation, same messages on the same topics), so the real functions do the work.
import { randomUUID } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Firestore } from '@google-cloud/firestore';
import type { PubSub } from '@google-cloud/pubsub';
import { ApiException, AppsV1Api, CoreV1Api, CustomObjectsApi, KubeConfig } from '@kubernetes/client-node';
import { stringify } from 'yaml';
import { waitFor } from '../../../infra/local/process.ts';
import type { LocalStack, StackStatus } from '../../../infra/local/stack.ts';
import { firestoreClient, pubsubClient } from '../../../shared/adapters/clients.ts';
import { collections } from '../../../shared/adapters/collections.ts';
import { type RequestRecord, Store } from '../../../shared/adapters/store.ts';
import { config, resetConfig } from '../../../shared/config.ts';
import { isTerminal } from '../../../shared/engine/phase.ts';
import type { Release, Transition } from '../../../shared/engine/release.ts';
import type { ControlCommand, SignedApplyMessage, SignedControlMessage } from '../../../shared/messages.ts';
import { documentsOf } from '../../../shared/target/documents.ts';
import { checkTemplateReferences } from '../../../shared/target/references.ts';
import { TargetStore } from '../../../shared/target/store.ts';
import { parseReleaseTargets } from '../../../shared/target/yaml.ts';
import { type ClientMessage, sendControl } from '../../client.ts';
import { localIdToken } from '../../identity.ts';
import { pushLocally } from '../push.ts';
import type { Progress } from './report.ts';

/** The namespace the demo's workloads live in; it is emptied at the start of every run. */
export const demoNamespace = 'demo';

export function isNotFound(err: unknown): boolean {
  return err instanceof ApiException && err.code === 404;
}

/** Who the demo's applies and control commands are recorded as. */
export const demoUser = 'demo@switchyard.local';

export interface DemoContext {
  status: StackStatus;
  stack: LocalStack;
  /** A short id of this run: keeps the Prometheus series of each run apart. */
  run: string;
  /** Where the demo writes the files it applies (`<stack dir>/demo`), for the user to read. */
  filesDir: string;
  kube: { config: KubeConfig; core: CoreV1Api; apps: AppsV1Api; custom: CustomObjectsApi };
  db: Firestore;
  store: Store;
  pubsub: PubSub;
  /** How many history entries of each release have been printed already. */
  printed: Map<string, number>;
}

/** Points this process at the stack and opens its clients. */
export function openContext(status: StackStatus, stack: LocalStack): DemoContext {
  process.env.GOOGLE_CLOUD_PROJECT = status.projectId;
  process.env.FIRESTORE_EMULATOR_HOST = status.firestoreEmulatorHost ?? '';
  process.env.PUBSUB_EMULATOR_HOST = status.pubsubEmulatorHost ?? '';
  process.env.KUBECONFIG = status.kubeconfig ?? '';
  // Control commands are signed by the stack's issuer, as `switchyard promote` signs them there.
  if (status.issuerUrl) process.env.SWITCHYARD_LOCAL_TOKEN_URL = `${status.issuerUrl}/token`;
  resetConfig();
  const cfg = config();
  const db = firestoreClient(cfg);
  const kc = new KubeConfig();
  kc.loadFromFile(status.kubeconfig!);
  const filesDir = join(status.stateDir, 'demo');
  mkdirSync(filesDir, { recursive: true });
  return {
    status,
    stack,
    run: Date.now().toString(36),
    filesDir,
    kube: {
      config: kc,
      core: kc.makeApiClient(CoreV1Api),
      apps: kc.makeApiClient(AppsV1Api),
      custom: kc.makeApiClient(CustomObjectsApi),
    },
    db,
    store: new Store(db),
    pubsub: pubsubClient(cfg),
    printed: new Map(),
  };
}

export async function closeContext(ctx: DemoContext): Promise<void> {
  await ctx.pubsub.close();
  await ctx.db.terminate();
}

/**
 * Starts the demo from a clean slate, so it can run any number of times on the same stack: the
 * demo's targets and their releases are removed from Firestore, then the demo namespace (and so
 * every object of earlier runs) is deleted and created again.
 */
export async function resetDemo(ctx: DemoContext, targets: string[]): Promise<void> {
  const batch = ctx.db.batch();
  for (const name of targets) {
    batch.delete(ctx.db.collection(collections.targets).doc(name));
    batch.delete(ctx.db.collection(collections.workloads).doc(name));
    const releases = await ctx.db.collection(collections.releases).where('target', '==', name).get();
    for (const doc of releases.docs) batch.delete(doc.ref);
  }
  await batch.commit();
  try {
    await ctx.kube.core.deleteNamespace({ name: demoNamespace, propagationPolicy: 'Foreground' });
  } catch (err) {
    if (!isNotFound(err)) throw err;
  }
  await waitFor(
    async () => {
      try {
        await ctx.kube.core.readNamespace({ name: demoNamespace });
        return false;
      } catch (err) {
        if (isNotFound(err)) return true;
        throw err;
      }
    },
    { timeoutMs: 90_000, what: `namespace ${demoNamespace} of an earlier run to be deleted` },
  );
  await ctx.kube.core.createNamespace({
    body: { metadata: { name: demoNamespace, labels: { 'app.kubernetes.io/part-of': 'switchyard-demo' } } },
  });
  // Pods are refused until the namespace's default ServiceAccount exists.
  await waitFor(
    () => ctx.kube.core.readNamespacedServiceAccount({ name: 'default', namespace: demoNamespace }),
    {
      timeoutMs: 30_000,
      what: `the default ServiceAccount of namespace ${demoNamespace}`,
    },
  );
}

/**
 * Writes `documents` as a YAML file in the demo's folder and applies it as `switchyard apply -f`
 * does: parsed and validated whole, template references checked, stored in one transaction.
 * Returns the file's path.
 */
export async function applyDocuments(
  ctx: DemoContext,
  fileName: string,
  documents: object[],
): Promise<string> {
  const file = join(ctx.filesDir, fileName);
  const head = `# Applied by \`switchyard demo\` (cli/commands/demo/targets.ts). Change it and apply it again:\n#   switchyard apply -f ${file}\n`;
  writeFileSync(file, head + documents.map((d) => stringify(d)).join('---\n'));
  const parsed = parseReleaseTargets(readFileSync(file, 'utf8'), file);
  if ('errors' in parsed) {
    throw new Error(`${file} is invalid: ${parsed.errors.map((e) => `${e.path}: ${e.message}`).join('; ')}`);
  }
  const unresolved = checkTemplateReferences(
    parsed.targets,
    parsed.templates,
    new Set(await new TargetStore(ctx.db).templateNames()),
  );
  if (unresolved.length > 0) throw new Error(`${file}: ${unresolved[0]?.message}`);
  // Stored by the control function, signed as the demo's user, as `switchyard apply -f` does.
  const message: SignedApplyMessage & { requestId: string } = {
    command: 'apply',
    documents: documentsOf(readFileSync(file, 'utf8')),
    source: file.slice(0, 500),
    requestedBy: demoUser,
    requestId: randomUUID(),
    idToken: await demoIdToken(),
  };
  await answered(ctx, message, `apply -f ${file}`);
  return file;
}

/**
 * Pushes `image` with its tag to the stack's registry, as `switchyard push` does there: the
 * registry's own notification, bridged to `gcr`, starts the release.
 */
export async function push(ctx: DemoContext, image: string, tag: string): Promise<void> {
  const repository = image.slice(0, image.indexOf('@'));
  const url = ctx.status.registryUrl;
  if (!url) throw new Error('the stack has no registry running: run `switchyard dev up`');
  await pushLocally(image, { url, name: repository.slice(repository.indexOf('/') + 1) }, tag);
}

/** The id of the release the next push for `target` creates. */
export async function nextReleaseId(ctx: DemoContext, target: string): Promise<string> {
  return `${target}-${(await ctx.store.workload(target)).releases + 1}`;
}

/**
 * Sends a control command on the control topic as `switchyard <command>` does and waits for the
 * control function's answer; throws when the command is refused.
 */
export async function control(
  ctx: DemoContext,
  command: ControlCommand,
  target: string,
  reason: string,
): Promise<RequestRecord> {
  const message: SignedControlMessage & { requestId: string } = {
    command,
    target,
    full: false,
    requestedBy: demoUser,
    reason,
    requestId: randomUUID(),
    idToken: await demoIdToken(),
  };
  return answered(ctx, message, `${command} ${target}`);
}

/** An ID token of the demo's user from the local stack's issuer. */
async function demoIdToken(): Promise<string> {
  const cfg = config();
  if (!cfg.localTokenUrl)
    throw new Error("the demo needs the local stack's ID-token issuer (SWITCHYARD_LOCAL_TOKEN_URL)");
  return localIdToken(cfg.localTokenUrl, demoUser, cfg.identity.audience);
}

/** Sends the message through the client and returns its answer; a refusal or no answer is an error. */
async function answered(ctx: DemoContext, message: ClientMessage, what: string): Promise<RequestRecord> {
  const to = { pubsub: ctx.pubsub, store: ctx.store, prefix: config().prefix };
  const answer = await sendControl(to, message, 60_000);
  if (!answer) throw new Error(`no answer to ${what} within 60 s: is the control function running?`);
  if (answer.outcome !== 'applied') throw new Error(`${what} refused: ${answer.reason}`);
  return answer;
}

/** A transition as one progress line: `api-2  DeployingGreen → PrePromotionAnalysis  (why)`. */
function describe(id: string, h: Transition): string | null {
  if (h.from === h.to) {
    // Same-phase entries: waits and polls are noise here; decisions with a reason are the story.
    if (!h.reason || h.reason.startsWith('waiting')) return null;
    return `${id}  ${h.to}: ${h.reason}`;
  }
  const why = h.reason ? `  (${h.reason}${h.by ? `, by ${h.by}` : ''})` : h.by ? `  (by ${h.by})` : '';
  return `${id}  ${h.from ?? '-'} → ${h.to}${why}`;
}

/**
 * Follows a release, printing each transition not printed before, until `done` holds (default: it ended and its
 * clean-up is done). Fails after `timeoutMs` with the phase it last saw.
 */
export async function follow(
  ctx: DemoContext,
  id: string,
  progress: Progress,
  done: (r: Release) => boolean = (r) => isTerminal(r.phase) && !r.cleanup,
  timeoutMs = 120_000,
): Promise<Release> {
  let last: Release | null = null;
  try {
    return await waitFor(
      async () => {
        const r = await ctx.store.release(id);
        if (!r) return undefined;
        last = r;
        for (const h of r.history.slice(ctx.printed.get(id) ?? 0)) {
          const line = describe(id, h);
          if (line) progress.info(line);
        }
        ctx.printed.set(id, r.history.length);
        return done(r) ? r : undefined;
      },
      { timeoutMs, intervalMs: 100, what: `release ${id}` },
    );
  } catch (err) {
    const r = last as Release | null;
    throw new Error(
      `${(err as Error).message}; ${r ? `it is ${r.phase}${r.reason ? ` (${r.reason})` : ''}` : 'it was never created (see `switchyard list`)'}`,
    );
  }
}
