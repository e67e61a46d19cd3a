import { UserError } from '../errors.js';
import { archiveTransfer } from './transfer-names.js';
import { ARCHIVE_KEYS, type Exporter, type ExportReport } from './exporter.js';

interface DockerReport extends ExportReport {
  type: 'docker';
  /** The archive written; none when the image went into the local docker. */
  dest?: string;
  /** What `docker load` said (`Loaded image: app:1`), when the image went into the local docker. */
  loaded?: string[];
}

/** `type=docker`: a `docker load` archive, or without dest the image loaded into the local docker (`--load`, as buildx). */
export const dockerExporter: Exporter<DockerReport> = {
  type: 'docker',
  keys: ARCHIVE_KEYS,
  dest: 'FILE',
  withoutDest: 'loads the image into the local docker (docker load), as --load',
  example: '-o type=docker,dest=app.tar',
  validate(out, spec) {
    if (out.dest === undefined && out.tar !== undefined)
      throw new UserError(
        `--output "${spec}": tar= needs dest=FILE; without dest the image goes into the local docker`,
      );
    if (out.tar === false)
      throw new UserError(`--output "${spec}": the docker exporter writes a tar only`, {
        hint: 'use type=oci,tar=false for a layout directory',
      });
  },
  describe: (out) =>
    out.dest === undefined ? 'loading the image into docker' : `exporting to docker archive ${out.dest}`,
  irreversible: (out) => out.dest === undefined,
  async export(image, out, ctx) {
    const opts = { ...(ctx.signal ? { signal: ctx.signal } : {}), ...archiveTransfer(ctx.transfer, out.dest) };
    if (out.dest === undefined) {
      // as a push, it happens here, not with the file outputs' commit: docker cannot be asked to take it back
      const { loadIntoDocker } = await import('./docker-load.js');
      const loaded = await loadIntoDocker(ctx.store, image.manifest, ctx.names, opts);
      return { report: { type: 'docker', loaded } };
    }
    const { prepareDockerArchive } = await import('./docker-archive.js');
    const pending = await prepareDockerArchive(ctx.store, image.manifest, ctx.names, out.dest!, opts);
    return { report: { type: 'docker', dest: out.dest! }, pending };
  },
  print: (r) =>
    r.dest === undefined ? `loaded into docker: ${r.loaded?.join(', ') || 'done'}` : `wrote docker archive ${r.dest}`,
};
