import { Command } from 'commander';
import { openImages, withStateLease } from './image-session.js';
import { registryFromFlags, withRegistryOptions, type RegistryFlags } from './registry-options.js';

interface PullFlags extends RegistryFlags {
  quiet?: boolean;
}

/**
 * `tsbuild pull NAME[:TAG|@DIGEST]`: an image from its registry into the state directory's store,
 * named as docker pull names it, for this machine's platform. Prints docker's lines: one per
 * layer, the digest the name points at, and whether the stored image changed.
 */
export function pullCommand(): Command {
  return withRegistryOptions(
    new Command('pull')
      .description(
        "download an image from its registry into the state directory (docker pull), this machine's platform",
      )
      .argument('<name>', 'NAME[:TAG|@DIGEST]'),
  )
    .option('-q, --quiet', 'print only the image name')
    .action(async (name: string, flags: PullFlags) => {
      const [{ parseReference, ImageReference }, { pullImage }, { defaultPlatform }, { ContentStore }, { ImageStore }] =
        await Promise.all([
          import('../registry/reference.js'),
          import('../registry/pull-image.js'),
          import('../registry/platform.js'),
          import('../store/content-store.js'),
          import('../exporter/image-store.js'),
        ]);
      const ref = parseReference(name).withDefaultTag();
      // docker names a pulled image by its tag; pulled by digest alone, it has no tag to carry
      const tagged = ref.tag !== undefined ? new ImageReference(ref.registry, ref.repository, ref.tag) : undefined;
      const storedName = tagged?.familiar();
      const { paths, images } = await openImages();
      const store = images ?? new ImageStore(new ContentStore(paths.content));
      const { TransferLine } = await import('./transfer-line.js');
      const bytes = new TransferLine(process.stdout, 'Downloading');
      const out = (line: string): void => {
        if (!flags.quiet) bytes.print(line);
      };
      await withStateLease(paths, async () => {
        await store.content.init();
        const before = tagged && (await store.list()).find((i) => i.name?.full === tagged.toString());
        out(ref.tag !== undefined ? `${ref.tag}: Pulling from ${ref.repository}` : `Pulling ${ref.familiar()}`);
        const pulled = await pullImage(store.content, name, {
          stateRoot: paths.root,
          platform: defaultPlatform(),
          registry: () => registryFromFlags(flags, paths.root),
          ...(flags.quiet
            ? {}
            : { onBytes: (layer, done, total) => bytes.update(layer.digest.slice(7, 19), done, total) }),
          onLayer: (layer, outcome) => {
            bytes.end(layer.digest.slice(7, 19));
            out(`${layer.digest.slice(7, 19)}: ${outcome === 'exists' ? 'Already exists' : 'Pull complete'}`);
          },
        });
        bytes.clear();
        await store.add(pulled.manifest, storedName ? [storedName] : []);
        if (storedName) await store.recordRepoDigest(storedName, pulled.digest);
        const upToDate = before?.target.digest === pulled.manifest.digest;
        out(`Digest: ${pulled.digest}`);
        const shown = tagged ?? ref.withDigest(pulled.digest);
        out(`Status: ${upToDate ? 'Image is up to date' : 'Downloaded newer image'} for ${shown.familiar()}`);
        // the full name last, alone on its line even with -q, as docker prints it
        process.stdout.write(`${shown.toString()}\n`);
      });
    });
}
