import { Command } from 'commander';
import { isUserError } from '../errors.js';
import { openImages, requireImages, withStateLease } from './image-session.js';

/**
 * `tsbuild rmi NAME…`: removes names from the state directory's store, as `docker rmi`. The
 * blobs stay until `tsbuild prune` (or the cache cap) finds nothing left that needs them.
 */
export function rmiCommand(): Command {
  return new Command('rmi')
    .description('remove stored images by name or ID (docker rmi); prune frees their blobs')
    .argument('<image...>', 'image names or IDs')
    .option('-f, --force', 'remove an image ID with several names, all of them')
    .action(async (refs: string[], flags: { force?: boolean }) => {
      const { paths, images } = await openImages();
      let failed: unknown;
      await withStateLease(paths, async () => {
        for (const ref of refs) {
          try {
            const store = requireImages(images, ref);
            const { untagged, deleted } = await store.remove(ref, flags.force ? { force: true } : {});
            process.stdout.write(
              untagged.map((n) => `Untagged: ${n}\n`).join('') + (deleted ? `Deleted: ${deleted}\n` : ''),
            );
          } catch (err) {
            // as docker: the others are still removed, and the command fails at the end
            if (!isUserError(err)) throw err;
            if (failed) process.stderr.write(`Error: ${(failed as Error).message}\n`);
            failed = err;
          }
        }
      });
      if (failed) throw failed;
    });
}
