import type { BigIntStats } from 'node:fs';
import { lstat } from 'node:fs/promises';
import { join } from 'node:path';
import { OPAQUE_VALUE, OPAQUE_XATTR, isWhiteoutStat } from './overlay-format.js';
import { readXattrs } from './xattrs.js';

/** What the merged view of a layer chain shows at a path. */
export type LowerState = { kind: 'dir'; stat: BigIntStats } | { kind: 'other' } | { kind: 'absent' };

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
    const statRel = async (rel: string): Promise<BigIntStats | null> => {
      if (!stats.has(rel)) {
        try {
          stats.set(rel, await lstat(join(layer, rel), { bigint: true }));
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
          state = st.isDirectory() ? { kind: 'dir', stat: st } : isWhiteoutStat(st) ? { kind: 'absent' } : { kind: 'other' };
        } else if (!st.isDirectory()) {
          state = { kind: 'absent' }; // a file or whiteout where a parent dir should be
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
    if (toCheck.length > 0) {
      const attrs = await readXattrs(toCheck.map((rel) => join(layer, rel)), `^${OPAQUE_XATTR.replace(/\./g, '\\.')}$`);
      for (const rel of toCheck) {
        if (attrs.get(join(layer, rel))?.get(OPAQUE_XATTR)?.toString('latin1') === OPAQUE_VALUE) opaque.add(rel);
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
