import { Command } from 'commander';
import { isUserError } from '../errors.js';
import type { ImageDetails, ImageStore } from '../exporter/image-store.js';
import { templateFormatter } from './image-display.js';
import { openImages, requireImages } from './image-session.js';

/** `tsbuild inspect NAME…`: a JSON array describing each image, with the fields of `docker image inspect`. */
export function inspectCommand(): Command {
  return new Command('inspect')
    .description('show stored images as JSON (docker image inspect)')
    .argument('<image...>', 'image names or IDs')
    .option('-f, --format <template>', "a template like '{{.Id}}' or '{{json .Config}}' instead of the JSON array")
    .action(async (refs: string[], flags: { format?: string }) => {
      const { images } = await openImages();
      const docs: Record<string, unknown>[] = [];
      let failed: unknown;
      for (const ref of refs) {
        try {
          const store = requireImages(images, ref);
          const { images: found } = await store.resolve(ref);
          docs.push(await inspectDocument(store, await store.details(found[0]!.target)));
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
  for (const i of all) if (i.name && (await store.details(i.target)).id === details.id) tags.push(i.name.familiar);
  const c = details.config;
  return {
    Id: details.id,
    RepoTags: [...new Set(tags)],
    RepoDigests: await store.repoDigests(details.id),
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
