import { randomBytes } from 'node:crypto';
import { mkdir, readFile, rename, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { writeFileAtomic } from '../cache/atomic-write.js';

/** A layer blob made from a snapshot (or the blob a pulled layer came from). */
export interface LayerBlobRecord {
  digest: string;
  diffId: string;
  size: number;
  mediaType: string;
  /** True when the snapshot is an empty diff: exporters drop such layers. */
  empty?: boolean;
}

/** A snapshot being written: its dirs live under a temp name until `commit` renames it into place. */
export interface PendingSnapshot {
  id: string;
  root: string;
  fs: string;
  work: string;
}

/**
 * Layer directories: `<root>/<id>/fs` in overlay format, plus `<id>/layer.json` once its blob
 * exists. A snapshot appears under its id only complete (rename), so a killed build leaves at
 * worst a `.pending-*` dir that is never read and is swept later.
 */
export class SnapshotStore {
  constructor(readonly root: string) {}

  dir(id: string): string {
    return join(this.root, id);
  }

  fsDir(id: string): string {
    return join(this.root, id, 'fs');
  }

  /** Overlay lowerdir paths relative to `root`, so long chains fit the mount option limit. */
  relativeFsDir(id: string): string {
    return `${id}/fs`;
  }

  async exists(id: string): Promise<boolean> {
    try {
      return (await stat(this.fsDir(id))).isDirectory();
    } catch {
      return false;
    }
  }

  async prepare(id: string): Promise<PendingSnapshot> {
    const root = join(this.root, `.pending-${id}-${randomBytes(4).toString('hex')}`);
    const fs = join(root, 'fs');
    const work = join(root, 'work');
    await mkdir(fs, { recursive: true });
    await mkdir(work, { recursive: true });
    return { id, root, fs, work };
  }

  /** Moves a finished snapshot into place; if another build got there first, keeps theirs. */
  async commit(p: PendingSnapshot, blob?: LayerBlobRecord): Promise<void> {
    await rm(p.work, { recursive: true, force: true });
    if (blob) await writeFileAtomic(join(p.root, 'layer.json'), JSON.stringify(blob));
    try {
      await rename(p.root, this.dir(p.id));
    } catch (err) {
      if (await this.exists(p.id)) await rm(p.root, { recursive: true, force: true });
      else throw err;
    }
  }

  async discard(p: PendingSnapshot): Promise<void> {
    await rm(p.root, { recursive: true, force: true });
  }

  async readBlob(id: string): Promise<LayerBlobRecord | undefined> {
    try {
      return JSON.parse(await readFile(join(this.dir(id), 'layer.json'), 'utf8')) as LayerBlobRecord;
    } catch {
      return undefined;
    }
  }

  async writeBlob(id: string, blob: LayerBlobRecord): Promise<void> {
    await writeFileAtomic(join(this.dir(id), 'layer.json'), JSON.stringify(blob));
  }

  async init(): Promise<void> {
    await mkdir(this.root, { recursive: true });
  }
}
