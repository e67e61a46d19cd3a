import { mkdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { writeFileAtomic } from './atomic-write.js';

/** What a cached step produced: its rootfs as a chain of snapshot ids, bottom first. */
export interface CacheRecord {
  key: string;
  layers: string[];
  createdAt: string;
  /** The step's display name when it was recorded, for `du` and explanations. */
  description: string;
  /** The inputs that made up the key, kept so a later miss can be explained as a diff. */
  keyInputs?: unknown;
}

function keyFile(dir: string, key: string): string {
  if (!/^[a-f0-9]{64}$/.test(key)) throw new Error(`malformed cache key ${key}`);
  return join(dir, key.slice(0, 2), `${key}.json`);
}

/** key → result records, one small JSON file each, written atomically. */
export class CacheRecords {
  constructor(readonly dir: string) {}

  async get(key: string): Promise<CacheRecord | undefined> {
    try {
      const rec = JSON.parse(await readFile(keyFile(this.dir, key), 'utf8')) as CacheRecord;
      return rec.key === key && Array.isArray(rec.layers) ? rec : undefined;
    } catch {
      return undefined;
    }
  }

  async put(record: CacheRecord): Promise<void> {
    const file = keyFile(this.dir, record.key);
    await mkdir(join(this.dir, record.key.slice(0, 2)), { recursive: true });
    await writeFileAtomic(file, JSON.stringify(record));
  }
}
