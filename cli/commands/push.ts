// `switchyard push <image>`: publishes an Artifact Registry notification, as a real push would.
import { Command } from 'commander';
import { artifactRegistryTopic } from '../../shared/topology.ts';
import { withBackend } from '../backend.ts';
import { CliError, exitCodes } from '../exit-codes.ts';
import { type OutputFormat, outputOption, print } from '../output.ts';

const digestRef = /^(?<repository>[a-z0-9][a-z0-9._\-/:]*[a-z0-9])@sha256:[0-9a-f]{64}$/;

export function pushCommand(): Command {
  return new Command('push')
    .description('publish an Artifact Registry notification for an image, as a real push would')
    .argument('<image>', 'image by digest: host/project/repo/image@sha256:<64 hex>')
    .option('--tag <tag>', 'the tag pushed with it (targets with untagged: ignore need one)')
    .option('--delete', 'publish a DELETE instead of an INSERT')
    .addOption(outputOption())
    .action(async (image: string, opts: { tag?: string; delete?: boolean; output: OutputFormat }) => {
      const repository = digestRef.exec(image)?.groups?.repository;
      if (!repository) {
        throw new CliError(
          exitCodes.invalidInput,
          `${image} is not an image by digest (repository@sha256:<64 hex>): Switchyard releases images by digest; \`docker inspect --format '{{index .RepoDigests 0}}' <image>\` shows one`,
        );
      }
      await withBackend(async (b) => {
        const targets = await b.store.targetsForRepository(repository);
        if (targets.length === 0) {
          process.stderr.write(
            `switchyard push: warning: no target names repository ${repository}, so the push will be recorded as ignored; \`switchyard targets\` lists targets\n`,
          );
        }
        const message = {
          action: opts.delete ? 'DELETE' : 'INSERT',
          digest: image,
          ...(opts.tag ? { tag: `${repository}:${opts.tag}` } : {}),
        };
        const pubsub = await b.pubsub();
        const messageId = await pubsub.topic(artifactRegistryTopic).publishMessage({ json: message });
        print(
          opts.output,
          {
            messageId,
            action: message.action,
            image,
            tag: opts.tag ?? null,
            targets: targets.map((t) => t.name),
          },
          (d) =>
            `published ${d.action} of ${image}${opts.tag ? ` (tag ${opts.tag})` : ''} as message ${d.messageId}${
              d.targets.length === 1
                ? `; \`switchyard watch ${d.targets[0]}\` follows the release`
                : d.targets.length > 1
                  ? `; targets ${d.targets.join(', ')} release it (\`switchyard watch <target>\` follows one)`
                  : ''
            }`,
        );
      });
    });
}
