// `switchyard get <target|release>`: the release as a tree, like `kubectl argo rollouts get
// rollout` — status, step and weights, the live revisions with replicas and roles (read from the
// cluster), and the analysis runs with each metric's last measurement.
import { Command } from 'commander';
import type { Release } from '../../shared/engine/release.ts';
import { type EngineTarget, servicesOf } from '../../shared/engine/target.ts';
import type { WorkloadSnapshot } from '../../shared/kubernetes/types.ts';
import { withBackend } from '../backend.ts';
import { lookup } from '../lookup.ts';
import { type OutputFormat, outputOption, print } from '../output.ts';
import { drawView } from '../views/draw.ts';
import { buildView } from '../views/release-view.ts';

/** How long get waits for the cluster before showing the release without its revisions. */
const clusterTimeoutMs = 15_000;

/** The live revisions and Services of a target, or why they could not be read. */
export async function readCluster(
  target: EngineTarget,
  kubeconfig: string | undefined,
): Promise<{ snapshot: WorkloadSnapshot | null; error: string | null }> {
  let timer: NodeJS.Timeout | undefined;
  try {
    const read = (async () => {
      // The Kubernetes client is loaded by the commands that read a cluster only.
      const [{ KubernetesCluster }, { connect }] = await Promise.all([
        import('../../shared/kubernetes/cluster.ts'),
        import('../../shared/kubernetes/connect.ts'),
      ]);
      const cluster = new KubernetesCluster(await connect(target.spec.cluster, kubeconfig));
      return cluster.snapshot(target.spec.namespace, target.spec.workload, servicesOf(target));
    })();
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(
        () => reject(new Error(`the cluster did not answer within ${clusterTimeoutMs / 1000} s`)),
        clusterTimeoutMs,
      );
    });
    return { snapshot: await Promise.race([read, timeout]), error: null };
  } catch (err) {
    return {
      snapshot: null,
      error: `cluster not reachable: ${err instanceof Error ? err.message : String(err)}`,
    };
  } finally {
    clearTimeout(timer);
  }
}

export function getCommand(): Command {
  return new Command('get')
    .description(
      'show a target or a release as a tree: status, canary step and weights, revisions with replicas ready and their roles (active, preview, stable, canary), analysis runs',
    )
    .argument('<name>', 'a target, or a release id (e.g. api-3)')
    .addOption(outputOption())
    .action(async (name: string, opts: { output: OutputFormat }) => {
      await withBackend(async (b) => {
        const found = await lookup(b.store, name);
        const targetName = found.target?.name ?? (found.release as Release).target;
        // Recent releases say which release made each revision and with which tag; without the
        // index (a fresh project) the tree is drawn without them rather than not at all.
        const releases = await b.store.releasesOf(targetName, 20).catch(() => [] as Release[]);
        const cluster = found.target
          ? await readCluster(found.target, b.cfg.kubeconfig)
          : { snapshot: null, error: `target ${targetName} is no longer stored` };
        const view = buildView({
          targetName,
          target: found.target,
          workload: found.workload,
          release: found.release,
          releases,
          snapshot: cluster.snapshot,
          clusterError: cluster.error,
        });
        print(opts.output, view, (v) => drawView(v, Date.now()));
        if (cluster.error && opts.output !== 'text')
          process.stderr.write(`switchyard get: ${cluster.error}\n`);
      });
    });
}
