import { lstatSync, readdirSync, readlinkSync, type BigIntStats } from 'node:fs';
import { lstat, readdir } from 'node:fs/promises';
import { join } from 'node:path';
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

interface Node {
  rel: string;
  abs: string;
  st: EntryStat;
  children?: Node[];
  opaque: boolean;
}

/**
 * What the listing keeps of an entry's lstat, converted as the tar header wants it. The whole tree
 * is listed before any entry is made, and a BigIntStats (18 BigInts) takes ~1 KB: 32 MB of heap at
 * once for the 32,000 files of an apt-get layer, most of a cold build's peak.
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
  if ((await readdir(layerDir)).length === 0) {
    // spare the getfattr spawn
    if (opts.onDiskUsage) opts.onDiskUsage(Number((await lstat(layerDir)).blocks) * 512);
    return [];
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
  const isOpaque = (rel: string) => xattrs.get(rel)?.get(OPAQUE_XATTR)?.toString('latin1') === OPAQUE_VALUE;
  const root: Node = {
    rel: '',
    abs: layerDir,
    st: entryStat(await lstat(layerDir, { bigint: true })),
    opaque: isOpaque(''),
  };
  readTree(root, isOpaque);
  if (opts.onDiskUsage) opts.onDiskUsage(diskUsageOf(root));

  const included = opts.lowerDirs && opts.lowerDirs.length > 0 ? await changedNodes(root, opts.lowerDirs) : undefined;
  const entries: LayerEntry[] = [];
  if (root.opaque) entries.push(marker(OPAQUE_MARKER, root.st));
  const keepXattrs = opts.xattrs !== false;
  const recordedOwners = new Map<LayerEntry, { uid: number; gid: number }>();
  const visit = async (n: Node): Promise<void> => {
    for (const c of n.children ?? []) {
      if (included && c.st.kind === 'dir' && !included.has(c)) continue;
      const made = await toEntries(c, keepXattrs ? xattrs : undefined);
      const recorded = parseOwnerXattr(xattrs.get(c.rel)?.get(OWNER_XATTR));
      if (recorded) for (const e of made) if (e.type !== 'symlink') recordedOwners.set(e, recorded);
      entries.push(...made);
      if (c.children) await visit(c);
    }
  };
  await visit(root);

  if (opts.clampMtime !== undefined) for (const e of entries) e.mtime = Math.min(e.mtime, opts.clampMtime);
  const ids = opts.idMapping ?? processIdMapping();
  for (const e of entries) {
    // an owner the build could not give the file on disk (OWNER_XATTR), else the disk's
    const recorded = recordedOwners.get(e);
    if (recorded) {
      e.uid = recorded.uid;
      e.gid = recorded.gid;
    } else if (ids !== IDENTITY_MAPPING) {
      e.uid = ids.imageUid(e.uid);
      e.gid = ids.imageGid(e.gid);
    }
  }
  entries.sort((a, b) => compareUtf8(a.name, b.name));
  return linkRepeatedInodes(entries);
}

/** Allocated bytes of a listed tree, as du counts them (a file with several names once per name, as duSync). */
function diskUsageOf(n: Node): number {
  let bytes = n.st.blocks * 512;
  for (const c of n.children ?? []) bytes += diskUsageOf(c);
  return bytes;
}

/**
 * Synchronous on purpose: a layer of thousands of small files spent most of its listing waiting
 * for the thread pool, one round trip per lstat of a few microseconds.
 */
function readTree(dir: Node, isOpaque: (rel: string) => boolean): void {
  const names = readdirSync(dir.abs, { encoding: 'buffer' });
  dir.children = names.map((raw) => {
    const name = raw.toString('utf8');
    // Tar names here are UTF-8; a name that is not would silently become another name.
    if (!Buffer.from(name, 'utf8').equals(raw))
      throw new Error(`file name is not valid UTF-8 in ${dir.abs}: ${JSON.stringify(raw.toString('latin1'))}`);
    const rel = dir.rel ? `${dir.rel}/${name}` : name;
    const abs = join(dir.abs, name);
    const st = entryStat(lstatSync(abs, { bigint: true }));
    const node: Node = { rel, abs, st, opaque: st.kind === 'dir' && isOpaque(rel) };
    if (name.startsWith(WHITEOUT_PREFIX) && !st.whiteout) {
      throw new Error(
        `${abs}: a file named ${WHITEOUT_PREFIX}* cannot be stored in an OCI layer (it would read as a whiteout)`,
      );
    }
    if (st.kind === 'dir') readTree(node, isOpaque);
    return node;
  });
}

/**
 * The directories that belong in the diff. Overlay copies a directory up whenever something
 * inside it is created, even if that thing is later removed, so an upperdir holds dirs that
 * differ from below in nothing but mtime.
 */
async function changedNodes(root: Node, lowerDirs: string[]): Promise<Set<Node>> {
  // Candidates: non-opaque dirs, not under an opaque dir, whose whole subtree is such dirs.
  const candidates = new Set<Node>();
  const mark = (n: Node, underOpaque: boolean): boolean => {
    let onlyDirs = n.st.kind === 'dir' && !n.opaque;
    for (const c of n.children ?? []) onlyDirs = mark(c, underOpaque || n.opaque) && onlyDirs;
    if (onlyDirs && !underOpaque && n !== root) candidates.add(n);
    return onlyDirs;
  };
  mark(root, false);
  const below = await lookupInChain(
    lowerDirs,
    [...candidates].map((n) => n.rel),
  );

  const included = new Set<Node>();
  const decide = (n: Node): boolean => {
    let keep = false;
    for (const c of n.children ?? []) keep = decide(c) || keep;
    if (n.st.kind !== 'dir') return true;
    if (!keep && candidates.has(n)) {
      const b = below.get(n.rel);
      // both are directories: the same mode is the same permission bits
      const same =
        b?.kind === 'dir' &&
        Number(b.stat.mode & 0o7777n) === n.st.perm &&
        Number(b.stat.uid) === n.st.uid &&
        Number(b.stat.gid) === n.st.gid;
      if (same) return false;
    }
    included.add(n);
    return true;
  };
  decide(root);
  return included;
}

async function toEntries(n: Node, xattrs: XattrMap | undefined): Promise<LayerEntry[]> {
  const { st } = n;
  const base: Omit<TarHeader, 'name' | 'type'> = {
    mode: st.perm,
    uid: st.uid,
    gid: st.gid,
    size: 0,
    mtime: st.mtime,
  };
  const attrs = portable(xattrs?.get(n.rel));
  if (attrs) base.xattrs = attrs;
  if (st.inode !== undefined) (base as LayerEntry).inode = st.inode;
  if (st.kind === 'dir') {
    const dir: LayerEntry = { ...base, name: `${n.rel}/`, type: 'directory' };
    return n.opaque ? [dir, marker(`${n.rel}/${OPAQUE_MARKER}`, st)] : [dir];
  }
  if (st.whiteout) {
    const i = n.rel.lastIndexOf('/');
    const name = `${n.rel.slice(0, i + 1)}${WHITEOUT_PREFIX}${n.rel.slice(i + 1)}`;
    // As Docker's overlay converter: a plain empty file, mode 0600, the device's owner and time.
    return [{ name, type: 'file', mode: 0o600, uid: base.uid, gid: base.gid, size: 0, mtime: base.mtime }];
  }
  if (st.kind === 'file') return [{ ...base, name: n.rel, type: 'file', size: st.size, source: n.abs }];
  if (st.kind === 'symlink') return [{ ...base, name: n.rel, type: 'symlink', linkname: readlinkSync(n.abs) }];
  if (st.kind === 'char' || st.kind === 'block') {
    const { major, minor } = splitDev(st.rdev!);
    return [
      {
        ...base,
        name: n.rel,
        type: st.kind === 'char' ? 'character-device' : 'block-device',
        devmajor: major,
        devminor: minor,
      },
    ];
  }
  if (st.kind === 'fifo') return [{ ...base, name: n.rel, type: 'fifo' }];
  return []; // sockets: no tar representation, and meaningless once their process is gone
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

/**
 * Later names of an inode already written become hard links to the first (in tar order, so the
 * target always precedes the link). Whiteouts are skipped: overlayfs makes every whiteout a link
 * to one shared 0/0 device, and directories cannot be linked.
 */
function linkRepeatedInodes(entries: LayerEntry[]): LayerEntry[] {
  const first = new Map<string, string>();
  return entries.map((e) => {
    if (e.inode === undefined) return e;
    const target = first.get(e.inode);
    if (target === undefined) {
      first.set(e.inode, e.name);
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
  });
}
