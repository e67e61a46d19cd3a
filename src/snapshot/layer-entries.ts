import { lstatSync, readdirSync, readlinkSync, type BigIntStats } from 'node:fs';
import { lstat, readdir } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import type { TarHeader } from '../image/tar-header.js';
import { IDENTITY_MAPPING, type IdMapping, OWNER_XATTR, parseOwnerXattr, processIdMapping } from './id-mapping.js';
import { lookupInChain } from './lower-lookup.js';
import { compareUtf8 } from './utf8-order.js';
import {
  OPAQUE_MARKER,
  OPAQUE_VALUE,
  OPAQUE_XATTR,
  OVERLAY_XATTR_PREFIX,
  WHITEOUT_PREFIX,
  isPortableXattr,
  isWhiteoutStat,
  splitDev,
} from './overlay-format.js';
import { dumpXattrTree, type XattrMap } from './xattrs.js';

export interface LayerEntryOptions {
  /**
   * The chain under this layer (top first, overlay format). With it, directories that overlay
   * copied up without changing them (same mode/uid/gid; mtime ignored) and that contain nothing
   * to export are left out, as BuildKit's diff does.
   */
  lowerDirs?: string[];
  /** Carry xattrs (other than overlay's own and SELinux labels) as PAX records. Default true. */
  xattrs?: boolean;
  /**
   * SOURCE_DATE_EPOCH (seconds): no entry's mtime is later than this, as BuildKit's
   * rewrite-timestamp does, so files a build creates get the same time on every build.
   * Older mtimes (files copied from the context) are kept.
   */
  clampMtime?: number;
  /** Owners on the host back to the image's (the reverse of what unpack and copy applied); identity when absent. */
  idMapping?: IdMapping;
  /**
   * Told the bytes the layer dir takes on disk (du's count: every entry's blocks, the dir's own
   * included), from the lstat of every entry the listing makes anyway (SnapshotStore.keepDiskUsage).
   */
  onDiskUsage?: (bytes: number) => void;
}

/** One tar entry of a layer; `source` is the file whose bytes follow the header. */
export interface LayerEntry extends TarHeader {
  source?: string;
  /** dev:ino of a non-directory with more than one link, to find its other names. */
  inode?: string;
}

/**
 * What the walk keeps of an entry's lstat, converted as the tar header wants it: a BigIntStats
 * (18 BigInts) takes ~1 KB, and the walk holds the names of every directory it is inside.
 */
interface EntryStat {
  kind: 'dir' | 'file' | 'symlink' | 'char' | 'block' | 'fifo' | 'socket';
  /** Permission bits and setuid/setgid/sticky. */
  perm: number;
  uid: number;
  gid: number;
  size: number;
  /** Whole seconds. */
  mtime: number;
  /** du's count: allocated 512-byte blocks. */
  blocks: number;
  /** Overlay's whiteout: a character device 0/0. */
  whiteout: boolean;
  /** dev:ino of a non-directory with more than one link, to find its other names. */
  inode?: string;
  /** Devices only. */
  rdev?: bigint;
}

function entryStat(st: BigIntStats): EntryStat {
  const kind = st.isDirectory()
    ? 'dir'
    : st.isFile()
      ? 'file'
      : st.isSymbolicLink()
        ? 'symlink'
        : st.isCharacterDevice()
          ? 'char'
          : st.isBlockDevice()
            ? 'block'
            : st.isFIFO()
              ? 'fifo'
              : 'socket';
  const whiteout = isWhiteoutStat(st);
  const e: EntryStat = {
    kind,
    perm: Number(st.mode & 0o7777n),
    uid: Number(st.uid),
    gid: Number(st.gid),
    size: Number(st.size),
    mtime: Number(st.mtimeMs / 1000n),
    blocks: Number(st.blocks),
    whiteout,
  };
  if (kind !== 'dir' && !whiteout && st.nlink > 1n) e.inode = `${st.dev}:${st.ino}`;
  if (kind === 'char' || kind === 'block') e.rdev = st.rdev;
  return e;
}

/**
 * The OCI tar entries of one overlay-format layer dir, in byte order of their names: whiteout
 * devices become `.wh.<name>`, opaque dirs get `.wh..wh..opq`, repeated inodes become hard links
 * to the first name. The layer root itself is not an entry (BuildKit emits none either).
 */
export async function layerEntries(layerDir: string, opts: LayerEntryOptions = {}): Promise<LayerEntry[]> {
  const entries: LayerEntry[] = [];
  await forEachLayerEntry(layerDir, opts, (e) => {
    entries.push(e);
  });
  return entries;
}

/**
 * `layerEntries` one at a time, as the tree is walked: `visit` gets each entry in tar order and
 * is waited for when it returns a promise. Only the directories being walked are held, not the
 * whole layer: listing a 33,000-file apt-get layer before tarring it took ~60 MB of heap.
 * `onDiskUsage` is told when the walk is done.
 */
export async function forEachLayerEntry(
  layerDir: string,
  opts: LayerEntryOptions,
  visit: (e: LayerEntry) => void | Promise<void>,
): Promise<void> {
  if ((await readdir(layerDir)).length === 0) {
    // spare the getfattr spawn
    if (opts.onDiskUsage) opts.onDiskUsage(Number((await lstat(layerDir)).blocks) * 512);
    return;
  }
  const xattrs = await dumpXattrTree(layerDir);
  for (const [rel, attrs] of xattrs) {
    // With these the upperdir is not a self-contained diff (data or names live in lower layers).
    for (const bad of [`${OVERLAY_XATTR_PREFIX}redirect`, `${OVERLAY_XATTR_PREFIX}metacopy`]) {
      if (attrs.has(bad))
        throw new Error(
          `${join(layerDir, rel)} has ${bad}: the layer was written by an overlay mount without redirect_dir=off,metacopy=off and cannot be exported`,
        );
    }
  }
  const walk = new LayerWalk(layerDir, opts, xattrs, visit);
  await walk.run();
  if (opts.onDiskUsage) opts.onDiskUsage(walk.diskUsage);
}

/** A name listed in a directory being walked, or the directory's own opaque marker. */
interface Child {
  /** Where its entries sort among its siblings': `name/` for a dir, `.wh.name` for a whiteout. */
  key: string;
  name: string;
  st?: EntryStat;
  marker?: LayerEntry;
}

/**
 * Walks a layer dir depth first, each directory's names sorted by their tar names' last part
 * (`name/` for a dir): a name's whole subtree sorts between it and its next sibling, so the walk
 * meets the entries in the tar's byte order of names without listing the tree first.
 *
 * With a chain below, a directory that overlay may have copied up without changing it (not
 * opaque, not under an opaque dir) is held back while its subtree is walked: the first entry
 * inside it sends it (and the held dirs around it) out first; if none comes, it is left out when
 * the chain has the same directory (same mode/uid/gid; mtime ignored), as BuildKit's diff does.
 * Overlay copies a directory up whenever something inside it is created, even if that thing is
 * later removed, so an upperdir holds dirs that differ from below in nothing but mtime.
 */
class LayerWalk {
  /** du's count of the layer dir: every entry's blocks, the dir's own included, links once per name. */
  diskUsage = 0;
  private readonly ids: IdMapping;
  private readonly prune: boolean;
  /** The first tar name of each inode with more than one link. */
  private readonly firstNames = new Map<string, string>();
  /** Directory entries held back, outermost first. */
  private readonly held: LayerEntry[] = [];

  constructor(
    private readonly layerDir: string,
    private readonly opts: LayerEntryOptions,
    private readonly xattrs: XattrMap,
    private readonly visit: (e: LayerEntry) => void | Promise<void>,
  ) {
    this.ids = opts.idMapping ?? processIdMapping();
    this.prune = opts.lowerDirs !== undefined && opts.lowerDirs.length > 0;
  }

  async run(): Promise<void> {
    const st = entryStat(await lstat(this.layerDir, { bigint: true }));
    this.diskUsage += st.blocks * 512;
    const rootMarker = this.isOpaque('') ? this.finish(marker(OPAQUE_MARKER, st), undefined) : undefined;
    // paths below are joined by hand: path.join's normalizing was a tenth of the walk's garbage
    await this.walkDir(resolve(this.layerDir), '', false, rootMarker);
  }

  private isOpaque(rel: string): boolean {
    return this.xattrs.get(rel)?.get(OPAQUE_XATTR)?.toString('latin1') === OPAQUE_VALUE;
  }

  private async walkDir(abs: string, rel: string, underOpaque: boolean, opaqueMarker?: LayerEntry): Promise<void> {
    for (const c of this.list(abs, opaqueMarker)) {
      if (c.marker) {
        const sent = this.emit(c.marker);
        if (sent) await sent;
        continue;
      }
      const st = c.st!;
      const cRel = rel ? `${rel}/${c.name}` : c.name;
      const cAbs = `${abs}/${c.name}`;
      const opaque = st.kind === 'dir' && this.isOpaque(cRel);
      const made = toEntries(cRel, cAbs, st, opaque, this.opts.xattrs !== false ? this.xattrs : undefined);
      const recorded = parseOwnerXattr(this.xattrs.get(cRel)?.get(OWNER_XATTR));
      for (const e of made) this.finish(e, e.type === 'symlink' ? undefined : recorded);
      if (st.kind !== 'dir') {
        // a socket has no entry, but the dirs around it are not unchanged: emit(undefined) sends them
        for (const e of made.length > 0 ? made : [undefined]) {
          const sent = this.emit(e);
          if (sent) await sent;
        }
      } else if (this.prune && !underOpaque && !opaque) {
        const dir = made[0]!;
        this.held.push(dir);
        await this.walkDir(cAbs, cRel, false);
        // still held: nothing inside it is in the diff
        if (this.held.at(-1) === dir) {
          if (await this.sameBelow(cRel, st)) this.held.pop();
          else await this.emit(undefined);
        }
      } else {
        const sent = this.emit(made[0]!);
        if (sent) await sent;
        await this.walkDir(cAbs, cRel, underOpaque || opaque, made[1]);
      }
    }
  }

  /**
   * A directory's names with their stats, in tar order. Synchronous on purpose: a layer of
   * thousands of small files spent most of its listing waiting for the thread pool, one round
   * trip per lstat of a few microseconds.
   */
  private list(abs: string, opaqueMarker: LayerEntry | undefined): Child[] {
    const children: Child[] = opaqueMarker ? [{ key: OPAQUE_MARKER, name: OPAQUE_MARKER, marker: opaqueMarker }] : [];
    const names = readdirSync(abs);
    // Tar names here are UTF-8; a name that is not would silently become another name. Such bytes
    // are read as U+FFFD, so only a dir with one of those is read again as bytes to check.
    if (names.some((n) => n.includes('\ufffd'))) checkUtf8Names(abs);
    for (const name of names) {
      const path = `${abs}/${name}`;
      const st = entryStat(lstatSync(path, { bigint: true }));
      if (name.startsWith(WHITEOUT_PREFIX) && !st.whiteout) {
        throw new Error(
          `${path}: a file named ${WHITEOUT_PREFIX}* cannot be stored in an OCI layer (it would read as a whiteout)`,
        );
      }
      this.diskUsage += st.blocks * 512;
      const key = st.kind === 'dir' ? `${name}/` : st.whiteout ? `${WHITEOUT_PREFIX}${name}` : name;
      children.push({ key, name, st });
    }
    // a stable sort: the marker stays first should a whiteout get its name
    return children.sort((a, b) => compareUtf8(a.key, b.key));
  }

  /** Whether the chain below has this directory with the same permission bits and owner. */
  private async sameBelow(rel: string, st: EntryStat): Promise<boolean> {
    const b = (await lookupInChain(this.opts.lowerDirs!, [rel])).get(rel);
    // both are directories: the same mode is the same permission bits
    return (
      b?.kind === 'dir' &&
      Number(b.stat.mode & 0o7777n) === st.perm &&
      Number(b.stat.uid) === st.uid &&
      Number(b.stat.gid) === st.gid
    );
  }

  /** Clamps the entry's time and gives it its owner in the image: `recorded` (OWNER_XATTR's), else the disk's mapped back. */
  private finish(e: LayerEntry, recorded: { uid: number; gid: number } | undefined): LayerEntry {
    if (this.opts.clampMtime !== undefined) e.mtime = Math.min(e.mtime, this.opts.clampMtime);
    if (recorded) {
      e.uid = recorded.uid;
      e.gid = recorded.gid;
    } else if (this.ids !== IDENTITY_MAPPING) {
      e.uid = this.ids.imageUid(e.uid);
      e.gid = this.ids.imageGid(e.gid);
    }
    return e;
  }

  /**
   * Sends the held-back dirs, then `e` if given. Returns a promise only when `visit` did, so a
   * layer of small files is not a round of microtasks per entry.
   */
  private emit(e: LayerEntry | undefined): void | Promise<void> {
    if (this.held.length > 0) return this.emitHeldThen(e);
    if (e) return this.visit(this.linked(e));
  }

  private async emitHeldThen(e: LayerEntry | undefined): Promise<void> {
    for (const dir of this.held.splice(0)) await this.visit(dir);
    if (e) await this.visit(this.linked(e));
  }

  /**
   * A later name of an inode already sent becomes a hard link to the first (the walk is in tar
   * order, so the target always precedes the link). Whiteouts have no inode here: overlayfs makes
   * every whiteout a link to one shared 0/0 device, and directories cannot be linked.
   */
  private linked(e: LayerEntry): LayerEntry {
    if (e.inode === undefined) return e;
    const target = this.firstNames.get(e.inode);
    if (target === undefined) {
      this.firstNames.set(e.inode, e.name);
      return e;
    }
    return {
      name: e.name,
      type: 'link',
      linkname: target,
      mode: e.mode,
      uid: e.uid,
      gid: e.gid,
      size: 0,
      mtime: e.mtime,
    };
  }
}

function toEntries(
  rel: string,
  abs: string,
  st: EntryStat,
  opaque: boolean,
  xattrs: XattrMap | undefined,
): LayerEntry[] {
  if (st.whiteout) {
    const i = rel.lastIndexOf('/');
    const name = `${rel.slice(0, i + 1)}${WHITEOUT_PREFIX}${rel.slice(i + 1)}`;
    // As Docker's overlay converter: a plain empty file, mode 0600, the device's owner and time.
    return [{ name, type: 'file', mode: 0o600, uid: st.uid, gid: st.gid, size: 0, mtime: st.mtime }];
  }
  if (st.kind === 'socket') return []; // no tar representation, and meaningless once their process is gone
  const attrs = portable(xattrs?.get(rel));
  const e: LayerEntry = { name: rel, type: 'file', mode: st.perm, uid: st.uid, gid: st.gid, size: 0, mtime: st.mtime };
  if (attrs) e.xattrs = attrs;
  if (st.inode !== undefined) e.inode = st.inode;
  switch (st.kind) {
    case 'dir':
      e.name = `${rel}/`;
      e.type = 'directory';
      return opaque ? [e, marker(`${rel}/${OPAQUE_MARKER}`, st)] : [e];
    case 'file':
      e.size = st.size;
      e.source = abs;
      return [e];
    case 'symlink':
      e.type = 'symlink';
      e.linkname = readlinkSync(abs);
      return [e];
    case 'char':
    case 'block': {
      const { major, minor } = splitDev(st.rdev!);
      e.type = st.kind === 'char' ? 'character-device' : 'block-device';
      e.devmajor = major;
      e.devminor = minor;
      return [e];
    }
    case 'fifo':
      e.type = 'fifo';
      return [e];
  }
}

function marker(name: string, st: EntryStat): LayerEntry {
  return {
    name,
    type: 'file',
    mode: st.perm & 0o777,
    uid: st.uid,
    gid: st.gid,
    size: 0,
    mtime: st.mtime,
  };
}

function portable(attrs: Map<string, Buffer> | undefined): Map<string, Buffer> | undefined {
  if (!attrs) return undefined;
  const kept = new Map([...attrs].filter(([k]) => isPortableXattr(k) && k !== OWNER_XATTR));
  return kept.size > 0 ? kept : undefined;
}

/** Throws for the first name in `dir` that is not valid UTF-8. */
function checkUtf8Names(dir: string): void {
  for (const raw of readdirSync(dir, { encoding: 'buffer' })) {
    if (!Buffer.from(raw.toString('utf8'), 'utf8').equals(raw))
      throw new Error(`file name is not valid UTF-8 in ${dir}: ${JSON.stringify(raw.toString('latin1'))}`);
  }
}
