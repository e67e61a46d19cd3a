import { UserError } from '../errors.js';
import type { PusherOptions } from '../registry/push.js';
import type { Exporter, ExportReport } from './exporter.js';
import { pushTransfers } from './transfer-names.js';

interface ImageReport extends ExportReport {
  type: 'image';
  names: string[];
  pushed: boolean;
}

/** `type=image`: names the image in the state directory, and pushes the names with push=true. */
export const imageExporter: Exporter<ImageReport> = {
  type: 'image',
  aliases: {
    registry(fields, spec, bool) {
      if (fields.has('push') && !bool('push')) throw new UserError(`--output "${spec}": type=registry always pushes`);
      fields.set('push', 'true');
    },
  },
  keys: [
    'name',
    'push',
    'compression',
    'compression-level',
    'force-compression',
    'registry.insecure',
    'oci-mediatypes',
    'source-date-epoch',
    'rewrite-timestamp',
  ],
  example: '-o type=image,name=REG/app:1,push=true',
  describe: (out, names) => (out.push ? `pushing ${names.join(', ')}` : `naming the image ${names.join(', ')}`),
  irreversible: (out) => out.push === true,
  async export(image, out, ctx) {
    const report: ImageReport = { type: 'image', names: ctx.names, pushed: !!out.push };
    const name = ctx.names.length ? { manifest: image.manifest, names: ctx.names } : undefined;
    if (!out.push) return { report, ...(name ? { name } : {}) };
    const { pushImage } = await import('./push-image.js');
    const client = await ctx.registry();
    const { transfer } = ctx;
    const opts: PusherOptions = {
      ...(ctx.signal ? { signal: ctx.signal } : {}),
      ...(ctx.fetchBlob ? { fetchBlob: ctx.fetchBlob } : {}),
      ...(transfer ? pushTransfers(transfer) : {}),
    };
    const stats = await pushImage(client.session, ctx.store, image.manifest, ctx.names, await ctx.blobSources(), opts);
    const note = ` (${stats.uploaded} blobs uploaded, ${stats.mounted} mounted, ${stats.existing} already there)`;
    return { report, note, pushed: { names: ctx.names, digest: image.manifest.digest }, ...(name ? { name } : {}) };
  },
  print: (r) => (r.pushed ? `pushed ${r.names.join(', ')}` : `named ${r.names.join(', ')}`),
};
