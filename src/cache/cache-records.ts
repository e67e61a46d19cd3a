import { closeSync, fstatSync, openSync, readdirSync, readFileSync, statSync, type Stats } from 'node:fs';
import { mkdir, readdir, readFile, rm, stat, utimes } from 'node:fs/promises';
import { join } from 'node:path';
import { writeFileAtomic } from '../store/atomic-write.js';
import { isOwnerAlive } from '../store/owner.js';
import { acquireFileMutex, type Release } from '../store/state-lock.js';

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

/** How stale a record's last-use time may get before a build that used it sets it again. */
const TOUCH_EVERY_MS = 10 * 60_000;

/** A record as this process last read it, with what tells its file apart from a rewritten one. */
interface KnownRecord {
  ino: number;
  birthtimeMs: number;
  mtimeMs: number;
  record: CacheRecord;
}

/** Records read in this process, by file; the oldest go first past READ_MEMO_MAX. */
const readMemo = new Map<string, KnownRecord>();
const READ_MEMO_MAX = 20_000;

function remember(file: string, known: KnownRecord): void {
  readMemo.delete(file);
  readMemo.set(file, known);
  if (readMemo.size > READ_MEMO_MAX) readMemo.delete(readMemo.keys().next().value!);
}

function keyFile(dir: string, key: string): string {
  if (!/^[a-f0-9]{64}$/.test(key)) throw new Error(`malformed cache key ${key}`);
  return join(dir, key.slice(0, 2), `${key}.json`);
}

/** key → result records, one small JSON file each, written atomically. A record's mtime is its last use (LRU for GC). */
export class CacheRecords {
  constructor(readonly dir: string) {}

  // Synchronous: a record is a few hundred bytes, and a promise-based readFile (open, fstat, read,
  // close through the thread pool) cost a 200-stage no-op ~24 ms of the main thread. A record read
  // before in this process (the build server) is taken again after one stat when its file is the
  // same one (inode and birth time: a record is rewritten by rename, never in place); reading it
  // again was ~60 µs a record, a 200-stage no-op's largest cost in the server.
  async get(key: string): Promise<CacheRecord | undefined> {
    try {
      const file = keyFile(this.dir, key);
      const known = readMemo.get(file);
      if (known) {
        const st = statSync(file, { throwIfNoEntry: false });
        if (!st) {
          readMemo.delete(file);
          return undefined;
        }
        if (st.ino === known.ino && st.birthtimeMs === known.birthtimeMs) {
          known.mtimeMs = st.mtimeMs;
          return known.record;
        }
      }
      const fd = openSync(file, 'r');
      let text: string;
      let st: Stats;
      try {
        st = fstatSync(fd);
        text = readFileSync(fd, 'utf8');
      } finally {
        closeSync(fd);
      }
      const rec = JSON.parse(text) as CacheRecord;
      if (rec.key !== key || !Array.isArray(rec.layers)) return undefined;
      remember(file, { ino: st.ino, birthtimeMs: st.birthtimeMs, mtimeMs: st.mtimeMs, record: rec });
      return rec;
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
    readMemo.delete(file);
  }

  /**
   * Takes the key's step lock (`<shard>/<key>.lock`), held while the step runs and its record is
   * written, so that builds sharing the state dir run a step once: the others wait here, then
   * find the record (BuildKit's solver shares a vertex between jobs the same way). A holder that
   * dies, even by SIGKILL, is taken over. `onWait` is called once if another build holds it.
   */
  async lock(key: string, wait: { onWait?: (holder: string) => void; signal?: AbortSignal } = {}): Promise<Release> {
    const file = keyFile(this.dir, key);
    await mkdir(join(this.dir, key.slice(0, 2)), { recursive: true });
    return acquireFileMutex(file.replace(/\.json$/, '.lock'), { ...wait, maxPollMs: 200 });
  }

  /** Removes step locks their holders left when killed (a waiter would take them over; prune tidies them). */
  async sweepLocks(): Promise<number> {
    let n = 0;
    for (const shard of await readdir(this.dir).catch(() => [] as string[])) {
      if (!/^[a-f0-9]{2}$/.test(shard)) continue;
      for (const name of await readdir(join(this.dir, shard)).catch(() => [] as string[])) {
        if (!/^[a-f0-9]{64}\.lock$/.test(name)) continue;
        const holder = (await readFile(join(this.dir, shard, name), 'utf8').catch(() => '')).trim();
        if (holder && isOwnerAlive(holder)) continue;
        if (!holder && !(await olderThan(join(this.dir, shard, name), 2000))) continue;
        await rm(join(this.dir, shard, name), { force: true });
        n++;
      }
    }
    return n;
  }

  /**
   * Marks records as used now (GC evicts the least recently used first); missing keys are ignored.
   * A record this process saw used in the last TOUCH_EVERY_MS keeps its time: GC's order does not
   * need finer steps, and touching every record was ~15 µs each on every no-op.
   */
  async touch(keys: string[]): Promise<void> {
    const now = new Date();
    const stale = keys.filter((k) => {
      const known = readMemo.get(keyFile(this.dir, k));
      return !known || now.getTime() - known.mtimeMs >= TOUCH_EVERY_MS;
    });
    await Promise.all(
      stale.map(async (k) => {
        const file = keyFile(this.dir, k);
        try {
          await utimes(file, now, now);
          const known = readMemo.get(file);
          if (known) known.mtimeMs = now.getTime();
        } catch {
          // removed meanwhile
        }
      }),
    );
  }

  async remove(key: string): Promise<void> {
    const file = keyFile(this.dir, key);
    await rm(file, { force: true });
    readMemo.delete(file);
  }

  /**
   * Every record with its last use and size, synchronously: GC reads the whole cache's metadata
   * after every build that ran something, with nothing else to do meanwhile, and thousands of tiny
   * reads cost several times more through the thread pool.
   */
  listSync(): { record: CacheRecord; lastUsed: number; bytes: number }[] {
    const out: { record: CacheRecord; lastUsed: number; bytes: number }[] = [];
    let shards: string[] = [];
    try {
      shards = readdirSync(this.dir).filter((d) => /^[a-f0-9]{2}$/.test(d));
    } catch {
      return out;
    }
    for (const shard of shards) {
      let names: string[] = [];
      try {
        names = readdirSync(join(this.dir, shard));
      } catch {
        continue;
      }
      for (const name of names) {
        if (!/^[a-f0-9]{64}\.json$/.test(name)) continue;
        try {
          const path = join(this.dir, shard, name);
          const record = JSON.parse(readFileSync(path, 'utf8')) as CacheRecord;
          if (!Array.isArray(record.layers)) continue;
          const st = statSync(path);
          out.push({ record, lastUsed: st.mtimeMs, bytes: st.size });
        } catch {
          // half-written or removed meanwhile: not a record
        }
      }
    }
    return out;
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

async function olderThan(path: string, ms: number): Promise<boolean> {
  const st = await stat(path).catch(() => undefined);
  return !!st && Date.now() - st.mtimeMs > ms;
}
