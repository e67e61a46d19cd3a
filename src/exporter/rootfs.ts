import { createHash, randomBytes } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { chmod, lchown, lstat, lutimes, mkdir, open, readdir, rename, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { ContentStore } from '../store/content-store.js';
import { UserError } from '../errors.js';
import { abortableWrite } from '../snapshot/layer-blobs.js';
import {
  COMMITTED,
  outputError,
  outputTempName,
  pendingRename,
  sweepDeadTemps,
  type ExportOptions,
  type PendingOutput,
} from './pending-output.js';
import { decompressStream } from '../image/decompress.js';
import { isIndexMediaType, type Descriptor, type ImageIndex, type ImageManifest } from '../image/types.js';
import { platformDirName } from '../registry/platform.js';
import { OPAQUE_VALUE, OPAQUE_XATTR, isWhiteoutStat } from '../snapshot/overlay-format.js';
import { unpackLayer } from '../snapshot/unpack.js';
import { dumpXattrTree, writeXattrs, type XattrWrite } from '../snapshot/xattrs.js';
import { removeTree } from '../process/remove-tree.js';
import { OWNER_XATTR, processIdMapping } from '../snapshot/id-mapping.js';

/**
 * `--output type=local,dest=DIR`: the image's root filesystem, every layer applied in order
 * with its whiteouts (a `.wh.name` deletes what lower layers had, an opaque directory hides
 * their contents). A new DIR is assembled beside itself and renamed into place on commit, so a
 * failed export leaves nothing at DIR; an existing DIR is written into, as BuildKit does.
 */
export async function prepareRootfsDir(
  store: ContentStore,
  manifest: Descriptor,
  dest: string,
  opts: ExportOptions = {},
  extraFiles: ExtraFile[] = [],
  split?: boolean,
): Promise<PendingOutput> {
  const parts = await rootfsParts(store, manifest, split);
  const existing = await lstat(dest).catch(() => undefined);
  if (existing && !existing.isDirectory())
    throw new UserError(`--output type=local: ${dest} exists and is not a directory`);
  if (!existing) await sweepDeadTemps(dest);
  const target = existing ? dest : outputTempName(dest);
  const what = `cannot write the root filesystem to ${dest}`;
  try {
    for (const part of parts) {
      await mkdir(join(target, part.dir), { recursive: true });
      await applyLayers(store, part.layers, join(target, part.dir), opts.signal);
    }
    await writeExtraFiles(target, extraFiles);
  } catch (err) {
    // (the rm too may be refused: the error that says why is the first one)
    if (!existing) await removeTree(target).catch(() => {});
    throw outputError(err, what);
  }
  return existing ? COMMITTED : pendingRename(target, dest, what);
}

/**
 * `--output type=tar,dest=FILE`: the root filesystem as one tar, written reproducibly (sorted,
 * owners and modes as in the image). The layers are applied in `scratch` (a temp dir inside the
 * state directory), which is removed afterwards; the tar waits beside FILE for commit.
 */
export async function prepareRootfsTar(
  store: ContentStore,
  manifest: Descriptor,
  dest: string,
  scratch: string,
  opts: ExportOptions = {},
  extraFiles: ExtraFile[] = [],
  split?: boolean,
): Promise<PendingOutput> {
  const parts = await rootfsParts(store, manifest, split);
  const root = join(scratch, `rootfs-${randomBytes(6).toString('hex')}`);
  const what = `cannot write the tar ${dest}`;
  try {
    await mkdir(root, { recursive: true });
    for (const part of parts) {
      await mkdir(join(root, part.dir), { recursive: true });
      await applyLayers(store, part.layers, join(root, part.dir), opts.signal).catch((err: unknown) => {
        throw outputError(err, `cannot assemble the root filesystem for ${dest} in ${scratch}`);
      });
    }
    await writeExtraFiles(root, extraFiles);
    const { writeLayerTar } = await import('../snapshot/layer-tar.js');
    if (dest === '-') {
      if (process.stdout.isTTY)
        throw new UserError('refusing to write the tar to a terminal', {
          hint: 'redirect stdout to a file, or set dest=FILE',
        });
      await writeLayerTar(root, process.stdout, { end: false });
      return COMMITTED;
    }
    await sweepDeadTemps(dest);
    const tmp = outputTempName(dest);
    try {
      await writeFileFully(
        tmp,
        abortableWrite(opts.signal, (out) => writeLayerTar(root, out)),
      );
      const fh = await open(tmp, 'r');
      try {
        await fh.sync();
      } finally {
        await fh.close();
      }
    } catch (err) {
      await rm(tmp, { force: true });
      throw outputError(err, what);
    }
    return pendingRename(tmp, dest, what);
  } finally {
    await removeTree(root);
  }
}

/** An in-toto subject: a file of the output by its path and sha256. */
export interface FileSubject {
  name: string;
  digest: { sha256: string };
}

/**
 * A file an output adds beside a root filesystem (`dir`: '' or a platform's directory): the
 * provenance statement, whose subjects are that root filesystem's regular files (as BuildKit's
 * local exporter makes them), so it is rendered once they are in place.
 */
export interface ExtraFile {
  dir: string;
  name: string;
  render(subjects: FileSubject[]): string;
}

/** Written after the layers, mode 0600 as BuildKit writes them; a file of the image with that name is replaced. */
async function writeExtraFiles(root: string, files: ExtraFile[]): Promise<void> {
  // every file's subjects are taken before any is written: none names another's statement
  const subjects = await Promise.all(files.map((f) => regularFiles(join(root, f.dir))));
  for (const [i, f] of files.entries()) {
    const path = join(root, f.dir, f.name);
    await rm(path, { recursive: true, force: true });
    await writeFile(path, f.render(subjects[i]!), { mode: 0o600 });
  }
}

/** Every regular file under `dir`, in lexical walk order, with its sha256 (never following a symlink). */
async function regularFiles(dir: string, rel = ''): Promise<FileSubject[]> {
  const out: FileSubject[] = [];
  const names = (await readdir(join(dir, rel))).sort();
  for (const name of names) {
    const path = rel ? `${rel}/${name}` : name;
    const st = await lstat(join(dir, path));
    if (st.isDirectory()) out.push(...(await regularFiles(dir, path)));
    else if (st.isFile()) {
      const hash = createHash('sha256');
      for await (const chunk of createReadStream(join(dir, path))) hash.update(chunk as Buffer);
      out.push({ name: path, digest: { sha256: hash.digest('hex') } });
    }
  }
  return out;
}

/**
 * The root filesystems an image gives a local or tar output: a manifest's at the top; an index's
 * one per platform, each in its own directory named as buildx names it (`linux_amd64`, `linux_arm_v7`).
 * `platform-split=` (BuildKit's) overrides that: true puts a single platform in its directory too,
 * false writes every platform at the top, one over the other.
 */
async function rootfsParts(
  store: ContentStore,
  root: Descriptor,
  split?: boolean,
): Promise<{ dir: string; layers: Descriptor[] }[]> {
  if (!isIndexMediaType(root.mediaType)) {
    const manifest = await store.readJson<ImageManifest>(root.digest);
    if (!split) return [{ dir: '', layers: manifest.layers }];
    const config = await store.readJson<{ os: string; architecture: string; variant?: string }>(manifest.config.digest);
    return [{ dir: platformDirName(config), layers: manifest.layers }];
  }
  const index = await store.readJson<ImageIndex>(root.digest);
  const parts: { dir: string; layers: Descriptor[] }[] = [];
  for (const m of index.manifests) {
    if (!m.platform) throw new Error(`image ${root.digest}: index entry ${m.digest} names no platform`);
    const { layers } = await store.readJson<ImageManifest>(m.digest);
    parts.push({ dir: split === false ? '' : platformDirName(m.platform), layers });
  }
  return parts;
}

/**
 * Creates `path` and lets `write` fill it; settles once the file is closed. Waiting for 'close'
 * (not 'finish') is what makes a failed last write or close an error here instead of a
 * silently short file.
 */
function writeFileFully(path: string, write: (out: NodeJS.WritableStream) => Promise<void>): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    const out = createWriteStream(path, { flags: 'wx' });
    out.on('error', reject);
    out.on('close', () =>
      out.writableFinished ? resolve() : reject(new Error(`${path}: closed before everything was written`)),
    );
    write(out).catch((err: unknown) => {
      out.destroy(err as Error);
      reject(err);
    });
  });
}

/** Applies each layer onto `root`: unpacked in overlay format beside it, then merged in. */
async function applyLayers(
  store: ContentStore,
  layers: Descriptor[],
  root: string,
  signal?: AbortSignal,
): Promise<void> {
  for (const layer of layers) {
    signal?.throwIfAborted();
    const staged = `${root}.layer-${randomBytes(4).toString('hex')}`;
    try {
      await unpackLayer(decompressStream(store.openRead(layer.digest)), staged);
      const xattrs = await dumpXattrTree(staged);
      const opaque = (rel: string) => xattrs.get(rel)?.get(OPAQUE_XATTR)?.toString('latin1') === OPAQUE_VALUE;
      const owners: XattrWrite[] = [];
      // a user who may not chown keeps the image's owners in records: a dir of the layer is made
      // anew (or merged into one below), so its record goes with it, root's included
      const recordOwner = processIdMapping().recordsOwners
        ? (rel: string, dst: string) =>
            owners.push({
              path: dst,
              name: OWNER_XATTR,
              value: xattrs.get(rel)?.get(OWNER_XATTR) ?? Buffer.from('0:0'),
            })
        : undefined;
      await merge(staged, root, '', opaque, recordOwner);
      await writeXattrs(owners);
    } finally {
      await removeTree(staged);
    }
  }
}

/**
 * Merges directory `rel` of an overlay-format layer into the tree at `root`. Every path of
 * `root` touched here has only real directories above it (each was checked or made by this
 * walk), so nothing follows a symlink an image planted.
 */
async function merge(
  layerRoot: string,
  root: string,
  rel: string,
  opaque: (rel: string) => boolean,
  recordOwner?: (rel: string, dst: string) => void,
): Promise<void> {
  const from = join(layerRoot, rel);
  const to = join(root, rel);
  // a user other than root may not move out of, or into, a dir it may not write (an image's
  // 0555 dir, its own): opened here, its mode set from the layer's after the merge below
  if (recordOwner) {
    await chmod(from, ((await lstat(from)).mode & 0o7777) | 0o700);
    const here = await lstat(to).catch(() => undefined);
    if (here?.isDirectory()) await chmod(to, (here.mode & 0o7777) | 0o700);
  }
  if (opaque(rel)) {
    for (const name of await readdir(to).catch(() => [] as string[])) await removeTree(join(to, name));
  }
  for (const name of await readdir(from)) {
    const childRel = rel ? `${rel}/${name}` : name;
    const src = join(from, name);
    const dst = join(to, name);
    const st = await lstat(src);
    const present = await lstat(dst).catch(() => undefined);
    if (isWhiteoutStat(st)) {
      if (present) await removeTree(dst);
      continue;
    }
    if (st.isDirectory()) {
      if (present && !present.isDirectory()) await rm(dst, { force: true });
      if (!present?.isDirectory()) await mkdir(dst);
      await merge(layerRoot, root, childRel, opaque, recordOwner);
      recordOwner?.(childRel, dst);
      await lchown(dst, st.uid, st.gid);
      await chmod(dst, st.mode & 0o7777);
      await lutimes(dst, st.atime, st.mtime);
      continue;
    }
    if (present?.isDirectory()) await removeTree(dst);
    // rename replaces a file in place and keeps hard links of the layer linked
    await rename(src, dst);
  }
}
