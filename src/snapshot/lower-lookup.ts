import { lstatSync, type BigIntStats } from 'node:fs';
import { join, posix } from 'node:path';
import { OPAQUE_VALUE, OPAQUE_XATTR, isWhiteoutStat } from './overlay-format.js';
import { readXattrs } from './xattrs.js';

/** What the merged view of a layer chain shows at a path. */
export type LowerState =
  | { kind: 'dir'; stat: BigIntStats; layer: string }
  | { kind: 'other'; stat: BigIntStats; layer: string }
  /** `viaSymlink`: a symlink stands where a parent dir should be (the kernel would follow it). */
  | { kind: 'absent'; viaSymlink?: true };

/**
 * Whether a layer's dir is opaque, remembered for the life of the process: layer dirs do not
 * change once committed, and each RUN step looks up the same few paths (/etc/passwd, the mount
 * points) through the whole chain. Keyed with the dir's inode and ctime, so a dir that was
 * replaced is asked again.
 */
const opaqueMemo = new Map<string, boolean>();
const memoKey = (layer: string, rel: string, st: BigIntStats | null): string =>
  `${join(layer, rel)}\0${st?.ino}\0${st?.ctimeNs}`;

/**
 * Resolves relative paths (no leading '/', '/'-separated) in a chain of overlay-format layer
 * dirs (top first) the way overlayfs would, without mounting: the topmost layer that has the
 * path decides, a whiteout or a non-directory on the way hides everything below, and so does an
 * opaque directory above the point where a layer stops having the path.
 *
 * Opaque dirs are asked about last, and only where they change the answer: for a path found in
 * a lower layer, about the dirs leading to it in the layers above. A path no layer has is absent
 * whatever is opaque, so the usual questions of a RUN step (are /etc/hosts, /proc… missing?)
 * cost no getfattr at all, and every question of a call shares one getfattr at most.
 */
export async function lookupInChain(lowerDirs: string[], paths: string[]): Promise<Map<string, LowerState>> {
  const result = new Map<string, LowerState>();
  /** For a path not decided yet: the dirs on its way in the layers above, which would hide it if opaque. */
  const hiders = new Map<string, { layer: string; rel: string; st: BigIntStats }[]>();
  const found = new Map<string, LowerState>();
  let pending = [...new Set(paths)];
  for (const layer of lowerDirs) {
    if (pending.length === 0) break;
    const stats = new Map<string, BigIntStats | null>();
    // Synchronous: a RUN step asks a handful of paths through every layer of its chain, and a
    // thread-pool round trip per lstat of a few microseconds made that tens of milliseconds.
    const statRel = (rel: string): BigIntStats | null => {
      if (!stats.has(rel)) {
        try {
          stats.set(rel, lstatSync(join(layer, rel), { bigint: true, throwIfNoEntry: false }) ?? null);
        } catch (err) {
          const code = (err as NodeJS.ErrnoException).code;
          if (code !== 'ENOENT' && code !== 'ENOTDIR') throw err;
          stats.set(rel, null);
        }
      }
      return stats.get(rel)!;
    };

    const next: string[] = [];
    for (const p of pending) {
      const parts = p.split('/');
      const ancestors: { layer: string; rel: string; st: BigIntStats }[] = [];
      let state: LowerState | 'missing' | undefined;
      for (let i = 1; i <= parts.length; i++) {
        const rel = parts.slice(0, i).join('/');
        const st = statRel(rel);
        if (st === null) {
          state = 'missing';
          break;
        }
        if (i === parts.length) {
          state = st.isDirectory()
            ? { kind: 'dir', stat: st, layer }
            : isWhiteoutStat(st)
              ? { kind: 'absent' }
              : { kind: 'other', stat: st, layer };
        } else if (!st.isDirectory()) {
          // a file or whiteout where a parent dir should be
          state = st.isSymbolicLink() ? { kind: 'absent', viaSymlink: true } : { kind: 'absent' };
          break;
        } else {
          ancestors.push({ layer, rel, st });
        }
      }
      if (state === 'missing') {
        // this layer does not have it: ask the layers below, remembering what here could hide it
        if (ancestors.length) hiders.set(p, [...(hiders.get(p) ?? []), ...ancestors]);
        next.push(p);
      } else if (state!.kind === 'absent') {
        result.set(p, state!); // absent here, so absent whatever is opaque above
      } else {
        found.set(p, state!);
      }
    }
    pending = next;
  }
  for (const p of pending) result.set(p, { kind: 'absent' });

  const opaque = await opaqueDirs([...found.keys()].flatMap((p) => hiders.get(p) ?? []));
  for (const [p, state] of found) {
    const hidden = (hiders.get(p) ?? []).some((h) => opaque.has(join(h.layer, h.rel)));
    result.set(p, hidden ? { kind: 'absent' } : state);
  }
  return result;
}

/** Which of these layer dirs are opaque (absolute paths), from the memo or one getfattr. */
async function opaqueDirs(dirs: { layer: string; rel: string; st: BigIntStats }[]): Promise<Set<string>> {
  const opaque = new Set<string>();
  const unknown = new Map<string, string>();
  for (const d of dirs) {
    const abs = join(d.layer, d.rel);
    const known = opaqueMemo.get(memoKey(d.layer, d.rel, d.st));
    if (known === undefined) unknown.set(abs, memoKey(d.layer, d.rel, d.st));
    else if (known) opaque.add(abs);
  }
  if (unknown.size > 0) {
    const attrs = await readXattrs([...unknown.keys()], `^${OPAQUE_XATTR.replace(/\./g, '\\.')}$`);
    for (const [abs, key] of unknown) {
      const isOpaque = attrs.get(abs)?.get(OPAQUE_XATTR)?.toString('latin1') === OPAQUE_VALUE;
      opaqueMemo.set(key, isOpaque);
      if (isOpaque) opaque.add(abs);
    }
  }
  return opaque;
}

/**
 * The one layer dir (of `lowerDirs`, top first) that holds each of `paths` whole, so reading them
 * there shows what the merged view would: each path is a directory or a regular file in that same
 * layer (the topmost that has it, nothing above hiding it), and no layer below has a directory's
 * path, so nothing under it merges in from below (a file hides whatever is below it). Undefined
 * otherwise (a wildcard, the root, a symlink or a path spread over layers): then only a mount
 * shows it. Layers are plain overlay uppers (tsbuild mounts them with redirect_dir and metacopy
 * off), so what a layer holds under such a path is all there is.
 */
export async function soleLayerOf(lowerDirs: string[], paths: string[]): Promise<string | undefined> {
  const rels: string[] = [];
  for (const p of paths) {
    if (/[*?[\\]/.test(p)) return undefined;
    const rel = posix.normalize(`/${p}`).replace(/^\/+|\/+$/g, '');
    if (rel === '' || rel === '.') return undefined;
    rels.push(rel);
  }
  if (rels.length === 0) return undefined;
  const found = await lookupInChain(lowerDirs, rels);
  let layer: string | undefined;
  for (const rel of rels) {
    const state = found.get(rel);
    if (!state || state.kind === 'absent') return undefined;
    if (state.kind === 'other' && !state.stat.isFile()) return undefined;
    if (layer !== undefined && state.layer !== layer) return undefined;
    layer = state.layer;
  }
  // a file hides whatever is below it; a directory merges with one below of its path
  const dirs = rels.filter((rel) => found.get(rel)!.kind === 'dir');
  const below = lowerDirs.slice(lowerDirs.indexOf(layer!) + 1);
  if (below.length === 0 || dirs.length === 0) return layer;
  const underneath = await lookupInChain(below, dirs);
  return dirs.every((rel) => underneath.get(rel)?.kind === 'absent') ? layer : undefined;
}
