import { Command } from 'commander';
import { UserError } from '../errors.js';
import type { ImageDetails, StoredImage } from '../exporter/image-store.js';
import { createdAt, createdSince, formatImageId, humanSize } from './image-display.js';
import { openImages, printRows } from './image-session.js';

interface ImagesFlags {
  quiet?: boolean;
  /** `--no-trunc` (commander reads a `--no-` flag as the negation of `trunc`) */
  trunc?: boolean;
  format?: string;
  all?: boolean;
  digests?: boolean;
  tree?: boolean;
}

/** `tsbuild images [REPOSITORY[:TAG]]`: the images in the state directory's store, as `docker images` lists them. */
export function imagesCommand(): Command {
  return new Command('images')
    .description('list the images in the state directory (docker images)')
    .argument('[reference]', 'only images whose name matches REPOSITORY[:TAG] (wildcards * and ? allowed)')
    .option('-q, --quiet', 'only the image IDs')
    .option('--no-trunc', 'full image IDs')
    .option('--format <format>', "json (one object a line), table, or a template like '{{.Repository}}:{{.Tag}}'")
    .option('--digests', 'show the digest each repository has the image under (after a pull or push)')
    .option('-a, --all', 'accepted for docker compatibility (tsbuild keeps no intermediate images)')
    .option('--tree', "each multi-platform image's platforms under it, with their IDs and sizes (docker images --tree)")
    .action(async (reference: string | undefined, flags: ImagesFlags) => {
      const { images } = await openImages();
      const match = reference === undefined ? () => true : referenceFilter(reference);
      const entries = images ? (await images.list()).filter(match) : [];
      const rows = await Promise.all(
        entries.map(async (e) => ({
          ...imageRow(e, await images!.details(e.target), flags.trunc === false),
          entry: e,
        })),
      );
      rows.sort(
        (a, b) =>
          b.created - a.created ||
          a.row.Repository.localeCompare(b.row.Repository) ||
          a.row.Tag.localeCompare(b.row.Tag),
      );
      if (flags.tree) {
        if (flags.quiet || flags.format !== undefined || flags.digests)
          throw new UserError('--tree cannot be combined with --quiet, --format or --digests', {
            hint: 'tsbuild images --tree lists names, IDs and sizes; inspect --platform shows one platform',
          });
        const tree: Record<string, string>[] = [];
        for (const r of rows) {
          const name = r.entry.name ? `${r.row.Repository}:${r.row.Tag}` : `<untagged>`;
          tree.push({ Image: name, ID: r.row.ID, Size: r.row.Size });
          const platforms = await images!.platformsOf(r.entry.target);
          platforms.forEach((p, i) => {
            const branch = i === platforms.length - 1 ? '└─' : '├─';
            tree.push({
              Image: `${branch} ${p.platform}`,
              ID: formatImageId(p.details.id, flags.trunc === false),
              Size: humanSize(p.details.size),
            });
          });
        }
        printRows(tree, undefined, [
          { header: 'IMAGE', field: 'Image' },
          { header: 'ID', field: 'ID' },
          { header: 'SIZE', field: 'Size' },
        ]);
        return;
      }
      if (flags.quiet) {
        process.stdout.write(rows.map((r) => `${r.row.ID}\n`).join(''));
        return;
      }
      printRows(
        rows.map((r) => r.row),
        flags.format,
        [
          { header: 'REPOSITORY', field: 'Repository' },
          { header: 'TAG', field: 'Tag' },
          ...(flags.digests ? [{ header: 'DIGEST', field: 'Digest' }] : []),
          { header: 'IMAGE ID', field: 'ID' },
          { header: 'CREATED', field: 'CreatedSince' },
          { header: 'SIZE', field: 'Size' },
        ],
      );
    });
}

/** One row with docker's field names (`docker images --format json`). */
export function imageRow(image: StoredImage, details: ImageDetails, noTrunc: boolean, now = Date.now()) {
  const created = details.config.created ? Date.parse(details.config.created) : 0;
  return {
    created: Number.isNaN(created) ? 0 : created,
    row: {
      Containers: 'N/A',
      CreatedAt: createdAt(details.config.created),
      CreatedSince: createdSince(details.config.created, now),
      Digest: image.repoDigest?.slice(image.repoDigest.lastIndexOf('@') + 1) ?? '<none>',
      ID: formatImageId(details.id, noTrunc),
      Repository: image.name?.repository ?? '<none>',
      SharedSize: 'N/A',
      Size: humanSize(details.size),
      Tag: image.name?.tag ?? '<none>',
      UniqueSize: 'N/A',
      VirtualSize: humanSize(details.size),
    },
  };
}

/**
 * docker's reference filter: `app` matches every tag of app, `app:1*` the tags that match, with
 * `*` and `?` as path.Match takes them; `library/app` and `docker.io/library/app` mean `app`.
 */
export function referenceFilter(pattern: string): (image: StoredImage) => boolean {
  const slash = pattern.lastIndexOf('/');
  const colon = pattern.lastIndexOf(':');
  const hasTag = colon > slash;
  const repoPattern = familiarPattern(hasTag ? pattern.slice(0, colon) : pattern);
  const tagPattern = hasTag ? pattern.slice(colon + 1) : undefined;
  if (!repoPattern) throw new UserError(`invalid reference filter ${JSON.stringify(pattern)}`);
  const repo = glob(repoPattern);
  const tag = tagPattern === undefined ? undefined : glob(tagPattern);
  return (image) => !!image.name && repo.test(image.name.repository) && (tag === undefined || tag.test(image.name.tag));
}

function familiarPattern(p: string): string {
  return p.replace(/^(?:docker\.io|index\.docker\.io)\//, '').replace(/^library\/(?=[^/]+$)/, '');
}

function glob(pattern: string): RegExp {
  const re = pattern
    .replace(/[.+^${}()|[\]\\]/g, '\\$&')
    .replace(/\*/g, '[^/]*')
    .replace(/\?/g, '[^/]');
  return new RegExp(`^${re}$`);
}
