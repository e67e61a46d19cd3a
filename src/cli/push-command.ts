import { Command } from 'commander';
import { UserError } from '../errors.js';
import { openImages, requireImages, withStateLease } from './image-session.js';
import { registryFromFlags, withRegistryOptions, type RegistryFlags } from './registry-options.js';

interface PushFlags extends RegistryFlags {
  allTags?: boolean;
  quiet?: boolean;
}

const OUTCOME = { uploaded: 'Pushed', existing: 'Layer already exists', mounted: 'Mounted from' } as const;

/**
 * `tsbuild push NAME[:TAG]`: a stored image to the registry its name names, without building
 * anything, as docker push: the blobs the registry has are skipped, those another repository of
 * it has are mounted, the rest uploaded (src/exporter/push-image.ts, as the build's --push).
 */
export function pushCommand(): Command {
  return withRegistryOptions(
    new Command('push')
      .description('push a stored image to its registry (docker push)')
      .argument('<name>', 'NAME[:TAG] of a stored image'),
  )
    .option('-a, --all-tags', 'push every stored tag of the repository')
    .option('-q, --quiet', 'print only the digest lines')
    .action(async (name: string, flags: PushFlags) => {
      const [{ parseReference, ImageReference }, { pushImage }, { manifestForPush }] = await Promise.all([
        import('../registry/reference.js'),
        import('../exporter/push-image.js'),
        import('../exporter/push-layers.js'),
      ]);
      const ref = parseReference(name);
      const repository = new ImageReference(ref.registry, ref.repository).familiar();
      if (ref.digest) throw new UserError(`cannot push ${name}: a name to push to cannot contain a digest`);
      if (flags.allTags && ref.tag !== undefined)
        throw new UserError("tag can't be used with --all-tags/-a", { hint: `tsbuild push -a ${repository}` });
      const { paths, images } = await openImages();
      const store = requireImages(images, name);
      const { TransferLine } = await import('./transfer-line.js');
      const bytes = new TransferLine(process.stdout, 'Pushing');
      const out = (line: string): void => {
        if (!flags.quiet) bytes.print(line);
      };
      await withStateLease(paths, async () => {
        const full = ref.withDefaultTag().toString();
        const targets = flags.allTags
          ? (await store.list()).filter((i) => i.name?.full.startsWith(`${ref.name}:`))
          : (await store.list()).filter((i) => i.name?.full === full);
        if (!targets.length)
          throw new UserError(
            flags.allTags ? `No such image: no tag of ${repository} is stored` : `No such image: ${name}`,
            { hint: 'tsbuild images lists the stored images; tsbuild tag SOURCE NAME gives one a name to push to' },
          );
        out(`The push refers to repository [${repository}]`);
        const { client, sources } = await registryFromFlags(flags, paths.root);
        try {
          for (const image of targets) {
            const manifest = await manifestForPush(store.content, image.target);
            await pushImage(client.session, store.content, manifest, [image.name!.full], sources, {
              // docker lists the layers only
              ...(flags.quiet
                ? {}
                : { onBytes: (desc, done, total) => bytes.update(desc.digest.slice(7, 19), done, total) }),
              onBlob: (desc, outcome, from) => {
                bytes.end(desc.digest.slice(7, 19));
                if (!desc.mediaType.includes('config'))
                  out(`${desc.digest.slice(7, 19)}: ${OUTCOME[outcome]}${from ? ` ${from}` : ''}`);
              },
            });
            await store.recordRepoDigest(image.name!.full, manifest.digest);
            bytes.clear();
            process.stdout.write(`${image.name!.tag}: digest: ${manifest.digest} size: ${manifest.size}\n`);
          }
        } finally {
          client.close();
        }
      });
    });
}
