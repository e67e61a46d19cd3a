import { archiveTransfer } from './transfer-names.js';
import { ARCHIVE_KEYS, type Exporter, type ExportReport } from './exporter.js';

interface OciReport extends ExportReport {
  type: 'oci';
  dest: string;
  layout: boolean;
}

/** `type=oci`: an OCI image layout as a tar (or a directory with tar=false). */
export const ociExporter: Exporter<OciReport> = {
  type: 'oci',
  keys: ARCHIVE_KEYS,
  dest: 'FILE',
  example: '-o type=oci,dest=app.tar',
  describe: (out) =>
    out.tar === false ? `exporting to OCI layout ${out.dest}` : `exporting to oci archive ${out.dest}`,
  async export(image, out, ctx) {
    const opts = { ...(ctx.signal ? { signal: ctx.signal } : {}), ...archiveTransfer(ctx.transfer, out.dest) };
    const report: OciReport = { type: 'oci', dest: out.dest!, layout: out.tar === false };
    if (out.tar === false) {
      const { prepareOciLayoutDir } = await import('./oci-layout-dir.js');
      return { report, pending: await prepareOciLayoutDir(ctx.store, image.manifest, ctx.names, out.dest!, opts) };
    }
    const { prepareOciArchive } = await import('./oci-archive.js');
    return { report, pending: await prepareOciArchive(ctx.store, image.manifest, ctx.names, out.dest!, opts) };
  },
  print: (r) => (r.layout ? `wrote OCI layout ${r.dest}` : `wrote oci archive ${r.dest}`),
};
