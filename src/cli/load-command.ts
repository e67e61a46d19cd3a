import { createReadStream } from 'node:fs';
import { resolve } from 'node:path';
import { Command } from 'commander';
import { EnvironmentError, UserError } from '../errors.js';
import { openImages, withStateLease } from './image-session.js';

/**
 * `tsbuild load [-i FILE]`: a docker or OCI archive into the state directory's store, named as
 * the archive names its images, as `docker load`. Reads stdin without -i.
 */
export function loadCommand(): Command {
  return new Command('load')
    .description('load images from a docker or OCI archive (docker load)')
    .option('-i, --input <file>', 'read the archive from FILE instead of stdin')
    .option('-q, --quiet', 'accepted for docker compatibility (tsbuild shows no progress here)')
    .action(async (flags: { input?: string }) => {
      const fromStdin = flags.input === undefined || flags.input === '-';
      if (fromStdin && process.stdin.isTTY)
        throw new UserError('requested load from stdin, but stdin is a terminal', {
          hint: 'give -i FILE, or pipe the archive in: tsbuild load < image.tar',
        });
      const label = fromStdin ? 'stdin' : flags.input!;
      const input = fromStdin ? process.stdin : createReadStream(resolve(flags.input!));
      const opened = new Promise<void>((ok, fail) => {
        if (fromStdin) ok();
        input.once('open', () => ok());
        input.once('error', (err: NodeJS.ErrnoException) =>
          fail(
            err.code === 'ENOENT' || err.code === 'EISDIR'
              ? new UserError(`cannot read ${label}: ${err.message}`)
              : new EnvironmentError(`cannot read ${label}: ${err.message}`, { cause: err }),
          ),
        );
      });
      await opened;
      const { paths, images } = await openImages();
      const [{ loadArchive }, { ContentStore }, { ImageStore }, { normalizeImageName }] = await Promise.all([
        import('../exporter/archive-load.js'),
        import('../store/content-store.js'),
        import('../exporter/image-store.js'),
        import('../exporter/image-names.js'),
      ]);
      const store = images ?? new ImageStore(new ContentStore(paths.content));
      await withStateLease(paths, async () => {
        const loaded = await loadArchive(store.content, input, label);
        const lines: string[] = [];
        for (const image of loaded) {
          await store.add(image.target, image.names);
          const names = image.names.map((n) => normalizeImageName(n).familiar);
          if (names.length) lines.push(...names.map((n) => `Loaded image: ${n}`));
          else lines.push(`Loaded image ID: ${(await store.details(image.target)).id}`);
        }
        process.stdout.write(lines.map((l) => `${l}\n`).join(''));
      });
    });
}
