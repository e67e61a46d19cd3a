import { mkdir, readFile } from 'node:fs/promises';
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
  constructor(private readonly dir: string) {}

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

  private path(digest: string): string {
    return join(this.dir, parseDigest(digest).hex);
  }
}
