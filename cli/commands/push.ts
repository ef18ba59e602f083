// `switchyard push <image>`: on the local stack, pushes the image to the stack's registry, whose own
// notification (bridged to `gcr`) starts the release, as a push to Artifact Registry would; elsewhere
// (or with --delete) publishes the Artifact Registry notification itself.
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Command } from 'commander';
import { parsePush } from '../../shared/engine/intake.ts';
import { sampleFor } from '../../shared/registry/image.ts';
import { endpointsVariable, locateRepository, parseRegistryEndpoints } from '../../shared/registry/trust.ts';
import { putManifest, readManifest, uploadImage } from '../../shared/registry/upload.ts';
import { withBackend } from '../backend.ts';
import { publishPush } from '../client.ts';
import { CliError, exitCodes } from '../exit-codes.ts';
import { type OutputFormat, outputOption, print } from '../output.ts';
import { environmentSource } from '../stack-env.ts';

/**
 * The registry endpoint that stands in for the image's host on this machine: from
 * SWITCHYARD_REGISTRY_ENDPOINTS (`switchyard dev status -o env` sets it), else the local dev stack's
 * registry when the CLI talks to that stack; null when the image's registry is the real one.
 */
export function localRegistryFor(repository: string): { url: string; name: string } | null {
  let endpoints = parseRegistryEndpoints(process.env[endpointsVariable]);
  const source = environmentSource();
  if (endpoints.size === 0 && source.kind === 'local-stack') {
    const file = join(source.stateDir, 'stack.json');
    const host = existsSync(file)
      ? (JSON.parse(readFileSync(file, 'utf8')) as { parts?: { registry?: { host?: string } } }).parts
          ?.registry?.host
      : undefined;
    if (host) endpoints = parseRegistryEndpoints(`us-docker.pkg.dev=http://${host}`);
  }
  const where = locateRepository(repository, endpoints);
  if ('refused' in where || where.withToken) return null;
  return { url: where.baseUrl, name: where.name };
}

/**
 * Pushes `image` to the local registry under `tag` (or by digest): the manifest it holds already, or
 * else one of the sample images the tests and the demo release (shared/registry/image.ts).
 */
export async function pushLocally(
  image: string,
  registry: { url: string; name: string },
  tag?: string,
): Promise<void> {
  const digest = image.slice(image.lastIndexOf('@') + 1);
  const reference = tag ?? digest;
  try {
    const held = await readManifest(registry.url, registry.name, digest);
    if (held) return await putManifest(registry.url, registry.name, held, reference);
    const sample = sampleFor(digest);
    if (sample) return await uploadImage(registry.url, registry.name, sample, reference);
  } catch (err) {
    throw new CliError(
      exitCodes.failure,
      `the stack's registry at ${registry.url} could not take the push: ${err instanceof Error ? err.message : String(err)}; \`switchyard dev up\` repairs the stack`,
    );
  }
  throw new CliError(
    exitCodes.invalidInput,
    `${image} is not in the stack's registry (${registry.url}) and is not one of Switchyard's sample images: push the image there first (e.g. \`crane push\`), or push a sample image by its digest`,
  );
}

export function pushCommand(): Command {
  return new Command('push')
    .description('publish an Artifact Registry notification for an image, as a real push would')
    .argument('<image>', 'image by digest: host/project/repo/image@sha256:<64 hex>')
    .option('--tag <tag>', 'the tag pushed with it (targets with untagged: ignore need one)')
    .option('--delete', 'publish a DELETE instead of an INSERT')
    .addOption(outputOption())
    .action(async (image: string, opts: { tag?: string; delete?: boolean; output: OutputFormat }) => {
      // Read as the push intake reads it (one grammar): what it would ignore is refused here.
      const byDigest = parsePush({ action: 'INSERT', digest: image });
      if (typeof byDigest === 'string') {
        throw new CliError(
          exitCodes.invalidInput,
          `${image} is not an image by digest (repository@sha256:<64 hex>): Switchyard releases images by digest; \`docker inspect --format '{{index .RepoDigests 0}}' <image>\` shows one`,
        );
      }
      const { repository } = byDigest;
      if (opts.tag !== undefined) {
        const tagged = parsePush({ action: 'INSERT', digest: image, tag: `${repository}:${opts.tag}` });
        if (typeof tagged === 'string' || tagged.tag !== opts.tag) {
          throw new CliError(
            exitCodes.invalidInput,
            `--tag ${JSON.stringify(opts.tag)} is not a tag: up to 128 letters, digits, "_", "." and "-", not starting with "." or "-"`,
          );
        }
      }
      const registry = opts.delete ? null : localRegistryFor(repository);
      await withBackend(async (b) => {
        // The image goes to the stack's registry while the targets are looked up: the push is not
        // held up by the warning, which says only what the intake will record.
        const [targets] = await Promise.all([
          b.store.targetsForRepository(repository),
          registry ? pushLocally(image, registry, opts.tag) : undefined,
        ]);
        if (targets.length === 0) {
          process.stderr.write(
            `switchyard push: warning: no target names repository ${repository}, so the push will be recorded as ignored; \`switchyard targets\` lists targets\n`,
          );
        }
        const follow = (names: string[]) =>
          names.length === 1
            ? `; \`switchyard watch ${names[0]}\` follows the release`
            : names.length > 1
              ? `; targets ${names.join(', ')} release it (\`switchyard watch <target>\` follows one)`
              : '';
        if (registry) {
          print(
            opts.output,
            {
              messageId: null,
              action: 'INSERT',
              image,
              tag: opts.tag ?? null,
              registry: registry.url,
              targets: targets.map((t) => t.name),
            },
            (d) =>
              `pushed ${image}${opts.tag ? ` (tag ${opts.tag})` : ''} to the stack's registry (${d.registry}), whose notification on gcr starts the release${follow(d.targets)}`,
          );
          return;
        }
        const action = opts.delete ? 'DELETE' : 'INSERT';
        const messageId = await publishPush(await b.pubsub(), {
          action,
          image,
          repository,
          ...(opts.tag ? { tag: opts.tag } : {}),
        });
        print(
          opts.output,
          {
            messageId,
            action,
            image,
            tag: opts.tag ?? null,
            targets: targets.map((t) => t.name),
          },
          (d) =>
            `published ${d.action} of ${image}${opts.tag ? ` (tag ${opts.tag})` : ''} as message ${d.messageId}${follow(d.targets)}`,
        );
      });
    });
}
