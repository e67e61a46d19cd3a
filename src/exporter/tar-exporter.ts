import { platformSplit } from './platform-split.js';
import { StatePaths } from '../store/state-paths.js';
import type { Exporter, ExportReport } from './exporter.js';

interface TarReport extends ExportReport {
  type: 'tar';
  dest: string;
}

/** `type=tar`: the image's root filesystem as one tar (`-` for stdout). */
export const tarExporter: Exporter<TarReport> = {
  type: 'tar',
  keys: ['dest', 'platform-split'],
  validate: (out, spec) => void platformSplit(out, spec),
  dest: 'FILE',
  example: '-o type=tar,dest=rootfs.tar',
  describe: (out) => `exporting the root filesystem as tar ${out.dest}`,
  async export(image, out, ctx) {
    const { prepareRootfsTar } = await import('./rootfs.js');
    const opts = ctx.signal ? { signal: ctx.signal } : {};
    const pending = await prepareRootfsTar(
      ctx.store,
      image.manifest,
      out.dest!,
      new StatePaths(ctx.stateRoot).tmpRoot,
      opts,
      ctx.attestationFiles,
      platformSplit(out),
    );
    return { report: { type: 'tar', dest: out.dest! }, pending };
  },
  print: (r) => `wrote the root filesystem as tar ${r.dest}`,
};
