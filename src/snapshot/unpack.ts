import {
  chmodSync,
  chownSync,
  closeSync,
  constants,
  fchmodSync,
  fchownSync,
  futimesSync,
  lchownSync,
  linkSync,
  lutimesSync,
  mkdirSync,
  openSync,
  symlinkSync,
  utimesSync,
  writeSync,
} from 'node:fs';
import tarStream from 'tar-stream';
import { EnvironmentError, UserError } from '../errors.js';
import { PaxTap } from '../image/pax-tap.js';
import { DestTree, isAtOrUnder, lstatOrNull } from './dest-tree.js';
import {
  OPAQUE_MARKER,
  OPAQUE_VALUE,
  OPAQUE_XATTR,
  WHITEOUT_PREFIX,
  isPortableXattr,
  isWhiteoutStat,
} from './overlay-format.js';
import { IDENTITY_MAPPING, type IdMapping, OWNER_XATTR, ownerXattrValue, processIdMapping } from './id-mapping.js';
import { runToolChecked } from '../process/run-tool.js';
import { writeXattrs, type XattrWrite } from './xattrs.js';

interface Meta {
  mode: number;
  uid: number;
  gid: number;
  mtime: Date;
}

/** A device node, fifo or whiteout still to be made: mknod is a spawn, so they are made together. */
interface PendingNode extends Meta {
  type: 'c' | 'b' | 'p';
  major: number;
  minor: number;
  whiteout: boolean;
}

/**
 * Extracts an uncompressed OCI layer tar into `destDir` in overlay format: `.wh.name` becomes a
 * 0/0 character device, `.wh..wh..opq` the opaque xattr on its directory. Every write stays
 * inside destDir (see DestTree); entries with '..' or that would pass through a symlink or a
 * non-directory are refused, which fails the unpack. Owners (of whiteouts too) go through
 * `idMapping`.
 */
export async function unpackLayer(
  tar: NodeJS.ReadableStream,
  destDir: string,
  { idMapping = processIdMapping() }: { idMapping?: IdMapping } = {},
): Promise<void> {
  mkdirSync(destDir, { recursive: true });
  // Under a real mapping the image's root is not the unpacking process: implicit dirs get its
  // mapped ids. Identity leaves them to the process, as it always did (a non-root unpack cannot chown).
  const implicitOwner = idMapping === IDENTITY_MAPPING ? undefined : { uid: idMapping.uid(0), gid: idMapping.gid(0) };
  const u = new Unpacker(new DestTree(destDir, implicitOwner), idMapping);
  const extract = tarStream.extract();
  const tap = new PaxTap();
  tar.on('error', (err: Error) => extract.destroy(err));
  tap.on('error', (err: Error) => extract.destroy(err));
  tar.pipe(tap).pipe(extract);
  try {
    for await (const entry of extract) {
      try {
        await u.entry(entry, tap.shift());
      } finally {
        entry.resume(); // whatever was not read must be skipped for the next header to arrive
      }
    }
    await u.finish();
  } catch (err) {
    extract.destroy();
    if ('destroy' in tar && typeof tar.destroy === 'function')
      (tar as NodeJS.ReadableStream & { destroy(): void }).destroy();
    throw err;
  }
}

class Unpacker {
  private readonly pending = new Map<string, PendingNode>();
  private readonly opaque = new Set<string>();
  private readonly xattrs = new Map<string, Map<string, Buffer>>();
  private readonly dirMeta = new Map<string, Meta>();

  constructor(
    private readonly tree: DestTree,
    private readonly ids: IdMapping,
  ) {}

  /** `rawPax`: the entry's PAX records as bytes (xattr values are binary). */
  async entry(entry: tarStream.Entry, rawPax: Map<string, Buffer> | undefined): Promise<void> {
    const h = entry.header;
    const rel = DestTree.normalize(h.name);
    const pax = ((h as { pax?: Record<string, string> }).pax ?? {}) as Record<string, string>;
    const imageUid = paxInt(pax.uid) ?? h.uid ?? 0;
    const imageGid = paxInt(pax.gid) ?? h.gid ?? 0;
    const owner = ownerXattrValue(this.ids, imageUid, imageGid);
    const meta: Meta = {
      mode: (h.mode ?? 0) & 0o7777,
      uid: this.ids.uid(imageUid),
      gid: this.ids.gid(imageGid),
      mtime:
        pax.mtime !== undefined && Number.isFinite(Number(pax.mtime))
          ? new Date(Number(pax.mtime) * 1000)
          : (h.mtime ?? new Date(0)),
    };
    const base = rel.slice(rel.lastIndexOf('/') + 1);
    const parent = rel.includes('/') ? rel.slice(0, rel.lastIndexOf('/')) : '';

    if (base === OPAQUE_MARKER) {
      await this.ensureParent(rel, h.name);
      await this.ensureDirAt(parent, h.name);
      this.opaque.add(parent);
      return;
    }
    if (base.startsWith(WHITEOUT_PREFIX)) {
      // Other `.wh..wh.*` names are AUFS bookkeeping (hard link dirs); they mean nothing here.
      if (base.startsWith(`${WHITEOUT_PREFIX}${WHITEOUT_PREFIX}`)) return;
      const target = parent ? `${parent}/${base.slice(WHITEOUT_PREFIX.length)}` : base.slice(WHITEOUT_PREFIX.length);
      await this.whiteout(target, h.name, meta);
      return;
    }
    if (rel === '') {
      if (h.type !== 'directory')
        throw new UserError(
          `refusing layer tar entry ${JSON.stringify(h.name)}: the layer root can only be a directory`,
        );
      this.dirMeta.set('', meta);
      this.setXattrs('', rawPax, owner);
      return;
    }

    await this.ensureParent(rel, h.name);
    switch (h.type) {
      case 'directory':
        await this.directory(rel, meta);
        this.setXattrs(rel, rawPax, owner);
        return;
      case 'file':
      case 'contiguous-file':
        await this.replace(rel);
        await this.file(rel, entry, meta);
        this.setXattrs(rel, rawPax, owner);
        return;
      case 'symlink':
        await this.replace(rel);
        symlinkSync(h.linkname ?? '', this.tree.abs(rel));
        lchownSync(this.tree.abs(rel), meta.uid, meta.gid);
        lutimesSync(this.tree.abs(rel), meta.mtime, meta.mtime);
        return;
      case 'link':
        await this.hardlink(rel, h.linkname ?? '', h.name);
        return;
      case 'character-device':
      case 'block-device':
      case 'fifo':
        if (h.type !== 'fifo' && this.ids.recordsOwners)
          throw new EnvironmentError(
            `layer entry ${JSON.stringify(h.name)} is a device node, which a user other than root cannot make`,
            {
              hint: 'run tsbuild as root (isolation chroot needs no other privilege), or build from an image without device nodes',
            },
          );
        await this.replace(rel);
        this.pending.set(rel, {
          ...meta,
          type: h.type === 'fifo' ? 'p' : h.type === 'block-device' ? 'b' : 'c',
          major: h.devmajor ?? 0,
          minor: h.devminor ?? 0,
          whiteout: false,
        });
        this.setXattrs(rel, rawPax, owner);
        return;
      default:
        throw new UserError(
          `unsupported entry type ${JSON.stringify(h.type)} for ${JSON.stringify(h.name)} in layer tar`,
        );
    }
  }

  /** The deferred work, in the order that keeps metadata right: nodes, xattrs, then dir times. */
  async finish(): Promise<void> {
    await this.flushNodes();
    const writes: XattrWrite[] = [];
    for (const rel of this.opaque)
      writes.push({ path: this.tree.abs(rel), name: OPAQUE_XATTR, value: Buffer.from(OPAQUE_VALUE) });
    // After every chown: the kernel drops security.capability when a file changes owner.
    for (const [rel, attrs] of this.xattrs)
      for (const [name, value] of attrs) writes.push({ path: this.tree.abs(rel), name, value });
    await writeXattrs(writes);
    // Deepest first: setting a child's metadata would otherwise not disturb the parent, but
    // creating children does, so times go on after everything below exists.
    const dirs = [...this.dirMeta].sort((a, b) => depth(b[0]) - depth(a[0]));
    for (const [rel, m] of dirs) {
      const abs = this.tree.abs(rel);
      chownSync(abs, m.uid, m.gid);
      chmodSync(abs, m.mode);
      utimesSync(abs, m.mtime, m.mtime);
    }
  }

  private async directory(rel: string, meta: Meta): Promise<void> {
    const st = await lstatOrNull(this.tree.abs(rel));
    const hidden = this.pending.get(rel)?.whiteout === true || (st !== null && isWhiteoutStat(st));
    if (st === null || !st.isDirectory()) {
      this.drop(rel);
      if (st !== null) await this.tree.remove(rel);
      mkdirSync(this.tree.abs(rel), { mode: 0o700 });
    }
    // The same layer deleted this path from below and then made a dir there: in overlay terms
    // that is an opaque dir, not a merge with the lower one.
    if (hidden) this.opaque.add(rel);
    this.tree.markDir(rel);
    this.dirMeta.set(rel, meta);
  }

  private async file(rel: string, entry: tarStream.Entry, meta: Meta): Promise<void> {
    // O_EXCL|O_NOFOLLOW: replace() just removed what was there, so anything found now is foul play.
    // The calls on the file are synchronous: a base image is mostly small files, where a
    // thread-pool round trip per call cost more than the call; only the tar stream is awaited.
    const fd = openSync(
      this.tree.abs(rel),
      constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW,
      0o600,
    );
    try {
      for await (const chunk of entry) writeAll(fd, chunk as Buffer);
      // chown before chmod: chown clears setuid/setgid.
      fchownSync(fd, meta.uid, meta.gid);
      fchmodSync(fd, meta.mode);
      futimesSync(fd, meta.mtime, meta.mtime);
    } finally {
      closeSync(fd);
    }
  }

  private async hardlink(rel: string, linkname: string, entryName: string): Promise<void> {
    const target = DestTree.normalize(linkname, 'hard link target');
    if (target === rel) return;
    if (target === '' || !(await this.tree.checkParent(target, entryName))) {
      throw new UserError(
        `layer tar entry ${JSON.stringify(entryName)} links to ${JSON.stringify(linkname)}, which is not in this layer`,
      );
    }
    if (this.pending.has(target)) await this.flushNodes();
    const st = await lstatOrNull(this.tree.abs(target));
    if (st === null || st.isDirectory()) {
      throw new UserError(
        `layer tar entry ${JSON.stringify(entryName)} links to ${JSON.stringify(linkname)}, which is ${st ? 'a directory' : 'not in this layer'}`,
      );
    }
    await this.replace(rel);
    // link(2) does not follow a symlink target; a link to a symlink links the symlink itself.
    linkSync(this.tree.abs(target), this.tree.abs(rel));
  }

  private async whiteout(rel: string, entryName: string, meta: Meta): Promise<void> {
    if (rel === '') throw new UserError(`refusing layer tar entry ${JSON.stringify(entryName)}: whiteout of the root`);
    await this.ensureParent(rel, entryName);
    const st = await lstatOrNull(this.tree.abs(rel));
    if (st?.isDirectory()) {
      // Whiteouts only hide lower layers; this layer's own dir stays, cut off from below.
      this.opaque.add(rel);
      return;
    }
    if (st !== null || this.pending.has(rel)) return; // this layer's own entry already hides the lower one
    // Mode 0 as overlayfs makes them; owner and time from the tar so a re-export is identical.
    this.pending.set(rel, { ...meta, mode: 0, type: 'c', major: 0, minor: 0, whiteout: true });
  }

  /**
   * Ancestors of `rel` as real dirs. One that is still a not-yet-made whiteout was deleted from
   * below by this layer and is now re-created as a dir: an opaque dir in overlay terms.
   */
  private async ensureParent(rel: string, entryName: string): Promise<void> {
    for (let i = rel.indexOf('/'); i >= 0; i = rel.indexOf('/', i + 1)) {
      const anc = rel.slice(0, i);
      const p = this.pending.get(anc);
      if (p === undefined) continue;
      if (!p.whiteout)
        throw new UserError(`refusing layer tar entry ${JSON.stringify(entryName)}: ${anc} is not a directory`);
      this.pending.delete(anc);
      this.opaque.add(anc);
    }
    await this.tree.ensureParent(rel, entryName);
  }

  /** Clears `rel` for a non-directory entry (later entries win, as in any tar extraction). */
  private async replace(rel: string): Promise<void> {
    this.drop(rel);
    await this.tree.remove(rel);
  }

  /** Forgets deferred work at or under `rel`, which is being replaced. */
  private drop(rel: string): void {
    for (const map of [this.pending, this.xattrs, this.dirMeta])
      for (const k of map.keys()) if (isAtOrUnder(k, rel)) map.delete(k);
    for (const k of this.opaque) if (isAtOrUnder(k, rel)) this.opaque.delete(k);
  }

  private async ensureDirAt(rel: string, entryName: string): Promise<void> {
    if (rel === '') return;
    const st = await lstatOrNull(this.tree.abs(rel));
    if (st?.isDirectory()) return;
    if (st !== null || this.pending.has(rel)) {
      throw new UserError(`refusing layer tar entry ${JSON.stringify(entryName)}: ${rel} is not a directory`);
    }
    this.tree.mkdirImplicit(rel);
    this.tree.markDir(rel);
  }

  /** `owner`: the OWNER_XATTR value to keep, where the mapping records owners. */
  private setXattrs(rel: string, pax: Map<string, Buffer> | undefined, owner?: Buffer): void {
    const attrs = new Map<string, Buffer>();
    if (owner) attrs.set(OWNER_XATTR, owner);
    for (const [k, v] of pax ?? []) {
      if (!k.startsWith('SCHILY.xattr.')) continue;
      const name = k.slice('SCHILY.xattr.'.length);
      if (isPortableXattr(name) && name !== OWNER_XATTR) attrs.set(name, v);
    }
    if (attrs.size > 0) this.xattrs.set(rel, attrs);
    // where owners are recorded, an entry named again must not keep the earlier one's record
    else if (this.ids.recordsOwners) this.xattrs.delete(rel);
  }

  private async flushNodes(): Promise<void> {
    if (this.pending.size === 0) return;
    const nodes = [...this.pending];
    this.pending.clear();
    const args: string[][] = [];
    for (const [rel, n] of nodes) {
      const abs = this.tree.abs(rel);
      args.push([n.mode.toString(8), abs, n.type, String(n.major), String(n.minor)]);
    }
    // One shell for many nodes; each group of five arguments is one mknod.
    const script =
      'while [ $# -gt 0 ]; do if [ "$3" = p ]; then mknod -m "$1" -- "$2" p || exit 1; else mknod -m "$1" -- "$2" "$3" "$4" "$5" || exit 1; fi; shift 5; done';
    for (const group of groupArgs(args)) await runToolChecked('sh', ['-c', script, 'sh', ...group.flat()]);
    for (const [rel, n] of nodes) {
      const abs = this.tree.abs(rel);
      lchownSync(abs, n.uid, n.gid);
      if (!n.whiteout) chmodSync(abs, n.mode); // after chown, which clears setuid/setgid
      lutimesSync(abs, n.mtime, n.mtime);
    }
  }
}

function writeAll(fd: number, chunk: Buffer): void {
  for (let off = 0; off < chunk.length; ) off += writeSync(fd, chunk, off, chunk.length - off);
}

function groupArgs(groups: string[][], maxBytes = 96 * 1024): string[][][] {
  const out: string[][][] = [];
  let cur: string[][] = [];
  let len = 0;
  for (const g of groups) {
    const n = g.reduce((s, a) => s + Buffer.byteLength(a) + 1, 0);
    if (cur.length > 0 && len + n > maxBytes) {
      out.push(cur);
      cur = [];
      len = 0;
    }
    cur.push(g);
    len += n;
  }
  if (cur.length > 0) out.push(cur);
  return out;
}

function paxInt(v: string | undefined): number | undefined {
  if (v === undefined || !/^\d+$/.test(v)) return undefined;
  return Number(v);
}

function depth(rel: string): number {
  return rel === '' ? 0 : rel.split('/').length;
}
