import { copyFile, mkdir, readFile, rename, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { tempNameFor, writeFileAtomic } from '../cache/atomic-write.js';
import type { ContentStore } from '../cache/content-store.js';
import { UserError } from '../errors.js';
import type { Descriptor, ImageIndex } from '../image/types.js';
import { ANNOTATION_IMAGE_NAME, ANNOTATION_REF_NAME, ociLayoutFiles } from './oci-archive.js';

/**
 * `--output type=oci,tar=false,dest=DIR`: the image as an OCI image layout directory, which
 * `FROM oci-layout://DIR`, skopeo (`oci:DIR:tag`) and umoci read. An existing layout is added
 * to: blobs already there are kept, and index.json keeps the entries of other names. Each blob
 * is copied to a temp name and renamed, and index.json is written last, so the layout never
 * names a blob it does not hold.
 */
export async function writeOciLayoutDir(store: ContentStore, manifest: Descriptor, names: string[], dest: string): Promise<void> {
  const files = await ociLayoutFiles(store, manifest, names);
  try {
    await mkdir(join(dest, 'blobs', 'sha256'), { recursive: true });
    for (const f of files) {
      if (!('blob' in f)) continue;
      const target = join(dest, f.name);
      if (await sizeOf(target) === f.blob.size) continue;
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
    const ours = files.find((f) => f.name === 'index.json');
    if (!ours || !('data' in ours)) throw new Error('ociLayoutFiles gave no index.json');
    const index = JSON.parse(ours.data.toString('utf8')) as ImageIndex;
    const previous = await readIndex(join(dest, 'index.json'));
    const taken = new Set(index.manifests.map(nameOf));
    index.manifests = [...(previous?.manifests ?? []).filter((d) => !taken.has(nameOf(d)) && d.digest !== manifest.digest), ...index.manifests];
    await writeFileAtomic(join(dest, 'index.json'), JSON.stringify(index));
  } catch (err) {
    if (err instanceof UserError || !(err as NodeJS.ErrnoException).code) throw err;
    throw new UserError(`cannot write the OCI layout ${dest}: ${(err as Error).message}`, { cause: err });
  }
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
