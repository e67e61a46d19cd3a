import { randomBytes } from 'node:crypto';
import { existsSync, lstatSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { mkdir, readdir, rename } from 'node:fs/promises';
import { join } from 'node:path';
import { removeTree } from '../process/remove-tree.js';
import { writeFileAtomic } from '../store/atomic-write.js';
import { ownerToken } from '../store/owner.js';
import { LayerEncodings } from './layer-encodings.js';

/** A snapshot being written: its dirs live under a temp name until `commit` renames it into place. */
export interface PendingSnapshot {
  id: string;
  root: string;
  fs: string;
  work: string;
}

/**
 * Layer directories: `<root>/<id>/fs` in overlay format, plus `<id>/encodings.json` once a blob
 * of it exists (`encodings`, src/snapshot/layer-encodings.ts). A snapshot appears under its id only complete (rename), so a killed build leaves at
 * worst a `.pending-*` dir that is never read and is swept later.
 */
export class SnapshotStore {
  /** The blobs made of each snapshot's layer. */
  readonly encodings = new LayerEncodings(this);

  constructor(readonly root: string) {}

  dir(id: string): string {
    return join(this.root, id);
  }

  fsDir(id: string): string {
    return join(this.root, id, 'fs');
  }

  /** The fs dirs of a layer chain given bottom first, top first: overlay's lowerdir order. */
  lowerDirs(chain: string[]): string[] {
    return chain.map((id) => this.fsDir(id)).reverse();
  }

  /** Overlay lowerdir paths relative to `root`, so long chains fit the mount option limit. */
  relativeFsDir(id: string): string {
    return `${id}/fs`;
  }

  // Synchronous: a no-op build checks every step's layer, and a promise-based stat cost ~25 µs of
  // the main thread against ~3 µs (a 200-stage no-op: ~11 ms of its ~120 ms)
  async exists(id: string): Promise<boolean> {
    return statSync(this.fsDir(id), { throwIfNoEntry: false })?.isDirectory() === true;
  }

  async prepare(id: string): Promise<PendingSnapshot> {
    // The owner token lets a later build sweep this if we are killed, and only then.
    const root = join(this.root, `.pending-${id}-${ownerToken()}-${randomBytes(4).toString('hex')}`);
    const fs = join(root, 'fs');
    const work = join(root, 'work');
    await mkdir(fs, { recursive: true });
    await mkdir(work, { recursive: true });
    return { id, root, fs, work };
  }

  /** Moves a finished snapshot into place; if another build got there first, keeps theirs. */
  async commit(p: PendingSnapshot): Promise<void> {
    await removeTree(p.work);
    try {
      await rename(p.root, this.dir(p.id));
    } catch (err) {
      if (await this.exists(p.id)) await removeTree(p.root);
      else throw err;
    }
  }

  /**
   * Makes snapshot `id`: `fn` fills the pending snapshot, which is committed when it resolves
   * and discarded when it throws or `signal` was aborted meanwhile. Returns what `fn` returned.
   */
  async create<T>(
    id: string,
    fn: (pending: PendingSnapshot) => Promise<T>,
    options: { signal?: AbortSignal } = {},
  ): Promise<T> {
    const pending = await this.prepare(id);
    try {
      const result = await fn(pending);
      if (options.signal?.aborted) throw options.signal.reason ?? new Error('cancelled');
      await this.commit(pending);
      return result;
    } catch (err) {
      await this.discard(pending);
      throw err;
    }
  }

  async discard(p: PendingSnapshot): Promise<void> {
    await removeTree(p.root);
  }

  async init(): Promise<void> {
    await mkdir(this.root, { recursive: true });
  }

  /** Committed snapshot ids (no pending or half-removed ones). */
  async list(): Promise<string[]> {
    return (await readdir(this.root).catch(() => [] as string[])).filter((n) => !n.startsWith('.'));
  }

  /** A snapshot's disk usage, measured once and kept in `<id>/size` (a committed snapshot never changes). */
  async diskUsage(id: string): Promise<number> {
    const file = join(this.dir(id), 'size');
    let kept = Number.NaN;
    try {
      kept = Number(readFileSync(file, 'utf8'));
    } catch {
      // not measured yet
    }
    if (Number.isFinite(kept) && kept > 0) return kept;
    const bytes = duSync(this.dir(id));
    // atomic: a torn number would be a wrong size, not an unreadable one
    await writeFileAtomic(file, String(bytes), { sync: false }).catch(() => {});
    return bytes;
  }

  /**
   * Keeps a snapshot's disk usage when someone walked its fs dir anyway (the layer tar lstats every
   * entry): `fsBytes` is what fs/ takes; the snapshot's own few files are added here. Measuring it
   * later instead walks the whole tree again: 2.2 s for the 32,000 files apt-get and npm install,
   * paid by the first build that checks the cache cap.
   */
  async keepDiskUsage(id: string, fsBytes: number): Promise<void> {
    const dir = this.dir(id);
    const file = join(dir, 'size');
    let bytes = fsBytes;
    try {
      if (existsSync(file)) return;
      bytes += lstatSync(dir).blocks * 512;
      for (const n of readdirSync(dir)) if (n !== 'fs') bytes += duSync(join(dir, n));
    } catch {
      return; // removed meanwhile (GC), or never committed: nothing to keep
    }
    await writeFileAtomic(file, String(bytes), { sync: false }).catch(() => {});
  }

  /** The same, synchronously (GC's inventory: see ContentStore.listBlobsSync). */
  listSync(): string[] {
    try {
      return readdirSync(this.root).filter((n) => !n.startsWith('.'));
    } catch {
      return [];
    }
  }

  /**
   * Removes a snapshot: first renamed out of its id (so no reader ever sees half of it; a crash
   * leaves a `.removing-*` dir the sweep deletes), then deleted.
   */
  async remove(id: string): Promise<void> {
    const gone = join(this.root, `.removing-${id}-${ownerToken()}-${randomBytes(4).toString('hex')}`);
    try {
      await rename(this.dir(id), gone);
    } catch {
      return;
    }
    await removeTree(gone);
  }
}

/** Allocated bytes under `path` (like du), without following symlinks. */
export function duSync(path: string): number {
  let total = 0;
  const visit = (p: string): void => {
    let st;
    try {
      st = lstatSync(p);
    } catch {
      return;
    }
    total += st.blocks * 512;
    if (!st.isDirectory()) return;
    let names: string[] = [];
    try {
      names = readdirSync(p);
    } catch {
      return;
    }
    for (const n of names) visit(join(p, n));
  };
  visit(path);
  return total;
}
