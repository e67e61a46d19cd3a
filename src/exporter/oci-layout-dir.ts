import { copyFile, lstat, mkdir, readFile, rename, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { tempNameFor, writeFileAtomic } from '../store/atomic-write.js';
import type { ContentStore } from '../store/content-store.js';
import { outputError, sweepDeadIn, type ExportOptions, type PendingOutput } from './pending-output.js';
import { MediaType, type Descriptor, type ImageIndex } from '../image/types.js';
import { ANNOTATION_IMAGE_NAME, ANNOTATION_REF_NAME, ociLayoutFiles } from './oci-archive.js';

/**
 * `--output type=oci,tar=false,dest=DIR`: the image as an OCI image layout directory, which
 * `FROM oci-layout://DIR`, skopeo (`oci:DIR:tag`) and umoci read. An existing layout is added
 * to: blobs already there are kept, and index.json keeps the entries of other names. Each blob
 * is copied to a temp name and renamed, and index.json is written last, so the layout never
 * names a blob it does not hold.
 */
export async function writeOciLayoutDir(
  store: ContentStore,
  manifest: Descriptor,
  names: string[],
  dest: string,
): Promise<void> {
  await (await prepareOciLayoutDir(store, manifest, names, dest)).commit();
}

/**
 * writeOciLayoutDir with index.json (what makes the image part of the layout) left for commit;
 * a layout directory this made is removed again on discard.
 */
export async function prepareOciLayoutDir(
  store: ContentStore,
  manifest: Descriptor,
  names: string[],
  dest: string,
  opts: ExportOptions = {},
): Promise<PendingOutput> {
  const files = await ociLayoutFiles(store, manifest, names);
  const ours = files.find((f) => f.name === 'index.json');
  if (!ours || !('data' in ours)) throw new Error('ociLayoutFiles gave no index.json');
  const index = JSON.parse(ours.data.toString('utf8')) as ImageIndex;
  return prepareLayout(store, files, index.manifests, manifest, dest, opts);
}

/**
 * Writes `manifest` (any manifest: the build cache too) into the layout `dest` under the tag
 * `refName` (`org.opencontainers.image.ref.name`, as `oci:DIR:TAG` and BuildKit's local cache
 * name it), adding to what the layout holds.
 */
export async function writeTaggedLayoutDir(
  store: ContentStore,
  manifest: Descriptor,
  refName: string,
  dest: string,
): Promise<void> {
  const files = await ociLayoutFiles(store, manifest, []);
  const entry: Descriptor = {
    mediaType: manifest.mediaType,
    digest: manifest.digest,
    size: manifest.size,
    annotations: { [ANNOTATION_REF_NAME]: refName },
  };
  await (await prepareLayout(store, files, [entry], manifest, dest)).commit();
}

async function prepareLayout(
  store: ContentStore,
  files: Awaited<ReturnType<typeof ociLayoutFiles>>,
  entries: Descriptor[],
  manifest: Descriptor,
  dest: string,
  opts: ExportOptions = {},
): Promise<PendingOutput> {
  const what = `cannot write the OCI layout ${dest}`;
  const made = !(await lstat(dest).catch(() => undefined));
  const discard = async () => {
    if (made) await rm(dest, { recursive: true, force: true }).catch(() => {});
  };
  try {
    await mkdir(join(dest, 'blobs', 'sha256'), { recursive: true });
    // temps of a writer that was killed here earlier
    for (const d of [dest, join(dest, 'blobs', 'sha256')]) await sweepDeadIn(d, '.tmp-');
    for (const f of files) {
      if (!('blob' in f)) continue;
      opts.signal?.throwIfAborted();
      const target = join(dest, f.name);
      if ((await sizeOf(target)) === f.blob.size) continue;
      const tmp = tempNameFor(target);
      try {
        await copyFile(store.blobPath(f.blob.digest), tmp);
        await rename(tmp, target);
      } catch (err) {
        await rm(tmp, { force: true });
        throw err;
      }
    }
    const layout = files.find((f) => f.name === 'oci-layout');
    if (layout && 'data' in layout) await writeFileAtomic(join(dest, 'oci-layout'), layout.data);
  } catch (err) {
    await discard();
    throw outputError(err, what);
  }
  return {
    async commit() {
      try {
        const previous = await readIndex(join(dest, 'index.json'));
        const taken = new Set(entries.map(nameOf));
        const index: ImageIndex = {
          schemaVersion: 2,
          mediaType: MediaType.ociIndex,
          manifests: [
            ...(previous?.manifests ?? []).filter((d) => !taken.has(nameOf(d)) && d.digest !== manifest.digest),
            ...entries,
          ],
        };
        await writeFileAtomic(join(dest, 'index.json'), JSON.stringify(index));
      } catch (err) {
        await discard();
        throw outputError(err, what);
      }
    },
    discard,
  };
}

function nameOf(d: Descriptor): string {
  return d.annotations?.[ANNOTATION_IMAGE_NAME] ?? d.annotations?.[ANNOTATION_REF_NAME] ?? d.digest;
}

async function sizeOf(path: string): Promise<number | undefined> {
  try {
    return (await stat(path)).size;
  } catch {
    return undefined;
  }
}

async function readIndex(path: string): Promise<ImageIndex | undefined> {
  try {
    const doc = JSON.parse(await readFile(path, 'utf8')) as ImageIndex;
    return Array.isArray(doc.manifests) ? doc : undefined;
  } catch {
    return undefined;
  }
}
