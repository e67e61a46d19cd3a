import { lstatSync, type BigIntStats } from 'node:fs';
import { join } from 'node:path';
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
const memoKey = (layer: string, rel: string, st: BigIntStats | null): string => `${join(layer, rel)}\0${st?.ino}\0${st?.ctimeNs}`;

/**
 * Resolves relative paths (no leading '/', '/'-separated) in a chain of overlay-format layer
 * dirs (top first) the way overlayfs would, without mounting: the topmost layer that has the
 * path decides, a whiteout or a non-directory on the way hides everything below, and so does an
 * opaque directory above the point where a layer stops having the path.
 * Paths are answered together so each layer costs one getfattr spawn at most, whatever the
 * number of paths.
 */
export async function lookupInChain(lowerDirs: string[], paths: string[]): Promise<Map<string, LowerState>> {
  const result = new Map<string, LowerState>();
  let pending = [...new Set(paths)];
  for (const layer of lowerDirs) {
    if (pending.length === 0) break;
    const stats = new Map<string, BigIntStats | null>();
    // Synchronous: a RUN step asks a handful of paths through every layer of its chain, and a
    // thread-pool round trip per lstat of a few microseconds made that tens of milliseconds.
    const statRel = async (rel: string): Promise<BigIntStats | null> => {
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

    // Paths this layer does not have, with the dirs of this layer that lead towards them: if any
    // of those is opaque the path is hidden from the layers below.
    const missing = new Map<string, string[]>();
    for (const p of pending) {
      const parts = p.split('/');
      const ancestors: string[] = [];
      let state: LowerState | 'missing' | undefined;
      for (let i = 1; i <= parts.length; i++) {
        const rel = parts.slice(0, i).join('/');
        const st = await statRel(rel);
        if (st === null) {
          state = 'missing';
          break;
        }
        if (i === parts.length) {
          state = st.isDirectory() ? { kind: 'dir', stat: st, layer } : isWhiteoutStat(st) ? { kind: 'absent' } : { kind: 'other', stat: st, layer };
        } else if (!st.isDirectory()) {
          // a file or whiteout where a parent dir should be
          state = st.isSymbolicLink() ? { kind: 'absent', viaSymlink: true } : { kind: 'absent' };
          break;
        } else {
          ancestors.push(rel);
        }
      }
      if (state === 'missing') missing.set(p, ancestors);
      else result.set(p, state!);
    }

    const toCheck = [...new Set([...missing.values()].flat())];
    const opaque = new Set<string>();
    const unknown: string[] = [];
    for (const rel of toCheck) {
      const known = opaqueMemo.get(memoKey(layer, rel, stats.get(rel)!));
      if (known === undefined) unknown.push(rel);
      else if (known) opaque.add(rel);
    }
    if (unknown.length > 0) {
      const attrs = await readXattrs(unknown.map((rel) => join(layer, rel)), `^${OPAQUE_XATTR.replace(/\./g, '\\.')}$`);
      for (const rel of unknown) {
        const isOpaque = attrs.get(join(layer, rel))?.get(OPAQUE_XATTR)?.toString('latin1') === OPAQUE_VALUE;
        opaqueMemo.set(memoKey(layer, rel, stats.get(rel)!), isOpaque);
        if (isOpaque) opaque.add(rel);
      }
    }
    pending = [];
    for (const [p, ancestors] of missing) {
      if (ancestors.some((a) => opaque.has(a))) result.set(p, { kind: 'absent' });
      else pending.push(p);
    }
  }
  for (const p of pending) result.set(p, { kind: 'absent' });
  return result;
}
