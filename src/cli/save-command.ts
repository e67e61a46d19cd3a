import { resolve } from 'node:path';
import { Command, Option } from 'commander';
import { UserError } from '../errors.js';
import { openImages, requireImages, withStateLease } from './image-session.js';

interface SaveFlags {
  output?: string;
  format: 'docker' | 'oci';
}

/**
 * `tsbuild save IMAGE… [-o FILE]`: stored images as one archive, `docker save`'s (which Docker 25
 * and later also read as an OCI layout) or a plain OCI layout with `--format oci`. Without -o it
 * goes to stdout, which must not be a terminal.
 */
export function saveCommand(): Command {
  return new Command('save')
    .description('write stored images to a docker (default) or OCI archive (docker save)')
    .argument('<image...>', 'image names or IDs')
    .option('-o, --output <file>', 'write to FILE instead of stdout')
    .addOption(new Option('--format <format>', 'the archive format').choices(['docker', 'oci']).default('docker'))
    .action(async (refs: string[], flags: SaveFlags) => {
      const dest = flags.output === undefined || flags.output === '-' ? '-' : resolve(flags.output);
      if (dest === '-' && process.stdout.isTTY)
        throw new UserError('cowardly refusing to write an archive to a terminal', {
          hint: 'give -o FILE, or redirect stdout to a file',
        });
      const { paths, images } = await openImages();
      const store = requireImages(images, refs[0]!);
      const { prepareDockerArchiveOf } = await import('../exporter/docker-archive.js');
      const { prepareOciArchiveOf } = await import('../exporter/oci-archive.js');
      await withStateLease(paths, async () => {
        // one archive entry per image, with the names it was asked for (none when named by ID, as docker save)
        const chosen: { manifest: import('../image/types.js').Descriptor; names: string[] }[] = [];
        for (const ref of refs) {
          const { images: found, byId } = await store.resolve(ref);
          const target = found[0]!.target;
          let entry = chosen.find((c) => c.manifest.digest === target.digest);
          if (!entry) chosen.push((entry = { manifest: target, names: [] }));
          if (!byId && found[0]!.name && !entry.names.includes(found[0]!.name.full))
            entry.names.push(found[0]!.name.full);
        }
        const pending =
          flags.format === 'oci'
            ? await prepareOciArchiveOf(store.content, chosen, dest)
            : await prepareDockerArchiveOf(store.content, chosen, dest);
        await pending.commit();
      });
    });
}
