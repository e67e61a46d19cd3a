import { Command } from 'commander';
import type { ImageDetails } from '../exporter/image-store.js';
import { createdAt, createdSince, ellipsis, formatImageId, humanSize } from './image-display.js';
import { openImages, printRows, requireImages } from './image-session.js';

interface HistoryFlags {
  /** `--no-trunc` (commander reads a `--no-` flag as the negation of `trunc`) */
  trunc?: boolean;
  format?: string;
  quiet?: boolean;
}

/** `tsbuild history IMAGE`: the steps an image was made of, newest first, as `docker history` shows them. */
export function historyCommand(): Command {
  return new Command('history')
    .description("show an image's history: the step that made each layer (docker history)")
    .argument('<image>', 'an image name or ID')
    .option('--no-trunc', 'do not cut long commands and IDs')
    .option('-q, --quiet', 'only the image IDs')
    .option('--format <format>', "json (one object a line), table, or a template like '{{.CreatedBy}}'")
    .action(async (ref: string, flags: HistoryFlags) => {
      const { images } = await openImages();
      const store = requireImages(images, ref);
      const { images: found } = await store.resolve(ref);
      const rows = historyRows(await store.details(found[0]!.target), flags.trunc === false);
      if (flags.quiet) {
        process.stdout.write(rows.map((r) => `${r.ID}\n`).join(''));
        return;
      }
      printRows(rows, flags.format, [
        { header: 'IMAGE', field: 'ID' },
        { header: 'CREATED', field: 'CreatedSince' },
        { header: 'CREATED BY', field: 'CreatedBy' },
        { header: 'SIZE', field: 'Size' },
        { header: 'COMMENT', field: 'Comment' },
      ]);
    });
}

/**
 * The config's history, newest first, each step with the layer it made (an `empty_layer` step
 * made none: 0B). As docker, only the top row carries the image's ID; the others are `<missing>`,
 * since no image of its own stands for an inner step. SIZE is the layer blob as stored.
 */
export function historyRows(details: ImageDetails, noTrunc: boolean, now = Date.now()) {
  let layer = 0;
  const rows = (details.config.history ?? []).map((h) => {
    const size = h.empty_layer ? 0 : (details.layers[layer++]?.size ?? 0);
    const by = (h.created_by ?? '').replaceAll('\t', ' ');
    return {
      Comment: h.comment ?? '',
      CreatedAt: createdAt(h.created),
      CreatedBy: noTrunc ? by : ellipsis(by, 45),
      CreatedSince: createdSince(h.created, now),
      ID: '<missing>',
      Size: humanSize(size),
    };
  });
  rows.reverse();
  if (rows[0]) rows[0].ID = formatImageId(details.id, noTrunc);
  return rows;
}
