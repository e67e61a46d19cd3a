import { mkdir, readdir, readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { writeFileAtomic } from '../store/atomic-write.js';
import { parseDigest } from '../store/content-store.js';

/**
 * Where a blob is known to exist in registries (`registry/repository`), learnt from pulls and
 * pushes and kept between builds (as containerd's distribution-source labels), so a push can
 * mount a blob from another repository of the same registry instead of uploading it.
 * One small file per blob; losing an update to a concurrent build only costs an upload.
 */
const MAX_SOURCES = 8;

export class BlobSources {
  constructor(readonly dir: string) {}

  async get(digest: string): Promise<string[]> {
    try {
      const list = JSON.parse(await readFile(this.path(digest), 'utf8')) as unknown;
      return Array.isArray(list) ? list.filter((s): s is string => typeof s === 'string') : [];
    } catch {
      return [];
    }
  }

  async add(digest: string, registry: string, repository: string): Promise<void> {
    const name = `${registry}/${repository}`;
    const list = await this.get(digest);
    if (list[0] === name) return;
    const next = [name, ...list.filter((s) => s !== name)].slice(0, MAX_SOURCES);
    await mkdir(this.dir, { recursive: true });
    await writeFileAtomic(this.path(digest), JSON.stringify(next));
  }

  /** Repositories of `registry` other than `repository` known to hold the blob, most recent first. */
  async mountCandidates(digest: string, registry: string, repository: string): Promise<string[]> {
    const prefix = `${registry}/`;
    return (await this.get(digest))
      .filter((s) => s.startsWith(prefix) && s !== `${registry}/${repository}`)
      .map((s) => s.slice(prefix.length));
  }

  /** Every blob with a note. */
  async list(): Promise<string[]> {
    const names = await readdir(this.dir).catch(() => [] as string[]);
    return names.filter((n) => /^[a-f0-9]{64}$/.test(n)).map((hex) => `sha256:${hex}`);
  }

  /**
   * Drops the notes of blobs `has` says are gone (every note with `all`), and files not named like
   * a note: a note without its blob only names registries for nothing. Temp files (dot names) are
   * the sweep's. Returns how many files went. Run under the exclusive state lock (GC).
   */
  async prune(opts: { all: boolean; has: (digest: string) => Promise<boolean> }): Promise<number> {
    let removed = 0;
    for (const n of await readdir(this.dir).catch(() => [] as string[])) {
      if (n.startsWith('.')) continue;
      if (opts.all || !/^[a-f0-9]{64}$/.test(n) || !(await opts.has(`sha256:${n}`))) {
        await rm(join(this.dir, n), { force: true });
        removed++;
      }
    }
    return removed;
  }

  private path(digest: string): string {
    return join(this.dir, parseDigest(digest).hex);
  }
}
