import { UserError } from '../errors.js';
import { ARCHIVE_KEYS, type Exporter, type ExportReport } from './exporter.js';

interface DockerReport extends ExportReport {
  type: 'docker';
  dest: string;
}

/** `type=docker`: a `docker load` archive. */
export const dockerExporter: Exporter<DockerReport> = {
  type: 'docker',
  keys: ARCHIVE_KEYS,
  dest: 'FILE',
  example: '-o type=docker,dest=app.tar',
  validate(out, spec) {
    if (out.tar === false)
      throw new UserError(`--output "${spec}": the docker exporter writes a tar only`, {
        hint: 'use type=oci,tar=false for a layout directory',
      });
  },
  describe: (out) => `exporting to docker archive ${out.dest}`,
  async export(image, out, ctx) {
    const { prepareDockerArchive } = await import('./docker-archive.js');
    const opts = ctx.signal ? { signal: ctx.signal } : {};
    const pending = await prepareDockerArchive(ctx.store, image.manifest, ctx.names, out.dest!, opts);
    return { report: { type: 'docker', dest: out.dest! }, pending };
  },
  print: (r) => `wrote docker archive ${r.dest}`,
};
