import { writeFileAtomic } from '../store/atomic-write.js';
import { isIndexMediaType, type Descriptor } from '../image/types.js';
import { normalizeImageNames } from './image-names.js';
import { outputError, outputTempName, pendingRename, sweepDeadTemps, type PendingOutput } from './pending-output.js';

/**
 * `--metadata-file F`: what buildx writes there for an image build, so scripts written for
 * `docker buildx build --metadata-file` read ours unchanged, and tsbuild's own `tsbuild.steps`:
 * each step with its time, and for RUN steps peak memory and CPU time (objects as the pipeline
 * made them; the exporter only writes them).
 */
export async function prepareMetadataFile(
  path: string,
  image: { manifest: Descriptor; config: Descriptor; names: string[] },
  steps?: object[],
): Promise<PendingOutput> {
  const descriptor: Descriptor = {
    mediaType: image.manifest.mediaType,
    digest: image.manifest.digest,
    size: image.manifest.size,
  };
  // an index (a multi-platform build) has no config of its own: buildx writes no config digest then
  const doc: Record<string, unknown> = {
    ...(isIndexMediaType(image.manifest.mediaType) ? {} : { 'containerimage.config.digest': image.config.digest }),
    'containerimage.descriptor': descriptor,
    'containerimage.digest': image.manifest.digest,
  };
  const names = normalizeImageNames(image.names).map((n) => n.full);
  if (names.length) doc['image.name'] = names.join(',');
  if (steps) doc['tsbuild.steps'] = steps;
  // written beside `path` and renamed with the build's other outputs (PendingOutput)
  const what = `cannot write the metadata file ${path}`;
  await sweepDeadTemps(path);
  const tmp = outputTempName(path);
  try {
    await writeFileAtomic(tmp, JSON.stringify(doc, null, 2) + '\n');
  } catch (err) {
    throw outputError(err, what);
  }
  return pendingRename(tmp, path, what);
}

/**
 * `--iidfile F`: the image ID, `sha256:<config digest>` without a newline, as `docker build
 * --iidfile` writes it; put in place with the build's other outputs.
 */
export async function prepareIidFile(path: string, config: Descriptor): Promise<PendingOutput> {
  const what = `cannot write the image ID file ${path}`;
  await sweepDeadTemps(path);
  const tmp = outputTempName(path);
  try {
    await writeFileAtomic(tmp, config.digest);
  } catch (err) {
    throw outputError(err, what);
  }
  return pendingRename(tmp, path, what);
}
