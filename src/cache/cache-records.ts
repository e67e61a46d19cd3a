import { mkdir, readdir, readFile, rm, stat, utimes } from 'node:fs/promises';
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
  /**
   * The top layer of each input's result when this was made: the record stands only while the
   * inputs still have those results (a --no-cache run gives a step a new result under its old key).
   */
  inputTops?: string[];
}

function keyFile(dir: string, key: string): string {
  if (!/^[a-f0-9]{64}$/.test(key)) throw new Error(`malformed cache key ${key}`);
  return join(dir, key.slice(0, 2), `${key}.json`);
}

/** key → result records, one small JSON file each, written atomically. A record's mtime is its last use (LRU for GC). */
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
    // No fsync: a record only vouches for a snapshot, and snapshot dirs are not fsynced either,
    // so syncing the record would buy no safety after power loss; a torn record reads as a miss.
    await writeFileAtomic(file, JSON.stringify(record), { sync: false });
  }

  /** Marks records as used now (GC evicts the least recently used first); missing keys are ignored. */
  async touch(keys: string[]): Promise<void> {
    const now = new Date();
    await Promise.all(keys.map((k) => utimes(keyFile(this.dir, k), now, now).catch(() => {})));
  }

  async remove(key: string): Promise<void> {
    await rm(keyFile(this.dir, key), { force: true });
  }

  /** Every record with its last use (for du and GC); unreadable records are skipped. */
  async list(): Promise<{ record: CacheRecord; lastUsed: number; bytes: number }[]> {
    const out: { record: CacheRecord; lastUsed: number; bytes: number }[] = [];
    let shards: string[];
    try {
      shards = (await readdir(this.dir)).filter((d) => /^[a-f0-9]{2}$/.test(d));
    } catch {
      return out;
    }
    for (const shard of shards) {
      for (const name of await readdir(join(this.dir, shard)).catch(() => [] as string[])) {
        const m = /^([a-f0-9]{64})\.json$/.exec(name);
        if (!m) continue;
        const rec = await this.get(m[1]!);
        const st = await stat(join(this.dir, shard, name)).catch(() => undefined);
        if (rec && st) out.push({ record: rec, lastUsed: st.mtimeMs, bytes: st.size });
      }
    }
    return out;
  }
}
