import { platformSplit } from './platform-split.js';
import type { Exporter, ExportReport } from './exporter.js';

interface LocalReport extends ExportReport {
  type: 'local';
  dest: string;
}

/** `type=local`: the image's root filesystem as a directory. */
export const localExporter: Exporter<LocalReport> = {
  type: 'local',
  keys: ['dest', 'platform-split'],
  validate: (out, spec) => void platformSplit(out, spec),
  dest: 'DIR',
  example: '-o type=local,dest=DIR',
  describe: (out) => `exporting the root filesystem to ${out.dest}`,
  async export(image, out, ctx) {
    const { prepareRootfsDir } = await import('./rootfs.js');
    const pending = await prepareRootfsDir(
      ctx.store,
      image.manifest,
      out.dest!,
      ctx.signal ? { signal: ctx.signal } : {},
      ctx.attestationFiles,
      platformSplit(out),
    );
    return { report: { type: 'local', dest: out.dest! }, pending };
  },
  print: (r) => `wrote the root filesystem to ${r.dest}`,
};
