import { Command } from 'commander';
import { isUserError } from '../errors.js';
import type { ImageDetails, ImageStore } from '../exporter/image-store.js';
import { templateFormatter } from './image-display.js';
import { openImages, requireImages } from './image-session.js';
import { parseOnePlatform } from './parse-platforms.js';

/** `tsbuild inspect NAME…`: a JSON array describing each image, with the fields of `docker image inspect`. */
export function inspectCommand(): Command {
  return new Command('inspect')
    .description('show stored images as JSON (docker image inspect)')
    .argument('<image...>', 'image names or IDs')
    .option('-f, --format <template>', "a template like '{{.Id}}' or '{{json .Config}}' instead of the JSON array")
    .option(
      '--platform <os/arch[/variant]>',
      "that platform's image of a multi-platform image (default: this machine's)",
    )
    .action(async (refs: string[], flags: { format?: string; platform?: string }) => {
      const platform = flags.platform === undefined ? undefined : parseOnePlatform(flags.platform);
      const { images } = await openImages();
      const docs: Record<string, unknown>[] = [];
      let failed: unknown;
      for (const ref of refs) {
        try {
          const store = requireImages(images, ref);
          const { images: found } = await store.resolve(ref);
          docs.push(await inspectDocument(store, await store.details(found[0]!.target, platform)));
        } catch (err) {
          if (!isUserError(err)) throw err;
          if (failed) process.stderr.write(`Error: ${(failed as Error).message}\n`);
          failed = err;
        }
      }
      const kind = flags.format === undefined ? 'table' : templateFormatter(flags.format, '--format');
      if (kind === 'table' || kind === 'json') process.stdout.write(`${JSON.stringify(docs, null, 4)}\n`);
      else process.stdout.write(docs.map((d) => `${kind.render(d)}\n`).join(''));
      if (failed) throw failed;
    });
}

/** docker's image inspect document for an image: its ID is the config digest, RepoTags every name it has here. */
export async function inspectDocument(store: ImageStore, details: ImageDetails): Promise<Record<string, unknown>> {
  const all = await store.list();
  const tags: string[] = [];
  // a platform's image of a multi-platform image has the names of the index it is in
  const same = async (target: ImageDetails['target']) =>
    target.digest === details.target.digest || (await store.details(target)).id === details.id;
  for (const i of all) if (i.name && (await same(i.target))) tags.push(i.name.familiar);
  const c = details.config;
  return {
    Id: details.id,
    RepoTags: [...new Set(tags)],
    RepoDigests: await store.repoDigests(details.id, details.target),
    Parent: '',
    Comment: '',
    Created: c.created ?? '',
    DockerVersion: '',
    Author: c.author ?? '',
    Config: c.config ?? {},
    Architecture: c.architecture,
    ...(c.variant ? { Variant: c.variant } : {}),
    Os: c.os,
    Size: details.size,
    RootFS: { Type: 'layers', Layers: c.rootfs?.diff_ids ?? [] },
    Descriptor: details.target,
  };
}
