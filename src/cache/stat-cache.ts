import { createHash } from 'node:crypto';
import { lstatSync } from 'node:fs';
import { mkdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { writeFileAtomic } from '../store/atomic-write.js';

/**
 * Persistent stat cache: for each context file, the stat fields that change whenever its content
 * can have changed (dev, ino, size, mtime, ctime) and the content hash they vouch for. An
 * unchanged context is then checked by lstat alone.
 *
 * One file per context directory, `cache/stat/<sha256(dir)[:32]>`, binary, read in one go:
 *   "TSBSTAT1" | u32 count | count × (u16 pathLen, path utf8, f64 dev, ino, size, mtimeMs, ctimeMs, 8-byte hash)
 *   | sha256(everything before)[:8]
 * A file that fails the check is ignored (a cache may always be dropped).
 *
 * Racy entries: a write in the same timestamp tick as our read would leave mtime and ctime
 * unchanged, so a hash is only persisted when both are older than the moment we read the file
 * by more than RACY_MS (coarse filesystem clocks). Such a file is simply hashed again next time.
 */
const MAGIC = Buffer.from('TSBSTAT1');
const RACY_MS = 2000;

export interface StatFields {
  dev: number;
  ino: number;
  size: number;
  mtimeMs: number;
  ctimeMs: number;
}

interface Entry extends StatFields {
  hash: string;
}

/** `dir` is the state dir's StatePaths.statCaches. */
export function statCacheFile(dir: string, contextDir: string): string {
  return join(dir, createHash('sha256').update(contextDir).digest('hex').slice(0, 32));
}

export function encodeStatCache(entries: Map<string, Entry>): Buffer {
  // one allocation for the whole file: a buffer per entry made the GC the cost
  const paths = [...entries.keys()].map((p) => Buffer.from(p, 'utf8'));
  const size = 12 + paths.reduce((n, p) => n + 2 + p.length + 48, 0);
  const buf = Buffer.allocUnsafe(size + 8);
  MAGIC.copy(buf, 0);
  buf.writeUInt32LE(entries.size, 8);
  let o = 12;
  let i = 0;
  for (const e of entries.values()) {
    const p = paths[i++]!;
    o = buf.writeUInt16LE(p.length, o);
    o += p.copy(buf, o);
    for (const v of [e.dev, e.ino, e.size, e.mtimeMs, e.ctimeMs]) o = buf.writeDoubleLE(v, o);
    o += buf.write(e.hash.padStart(16, '0'), o, 8, 'hex');
  }
  createHash('sha256').update(buf.subarray(0, size)).digest().copy(buf, size, 0, 8);
  return buf;
}

export function decodeStatCache(buf: Buffer): Map<string, Entry> {
  const out = new Map<string, Entry>();
  if (buf.length < 20 || !buf.subarray(0, 8).equals(MAGIC)) return out;
  const body = buf.subarray(0, buf.length - 8);
  if (
    !createHash('sha256')
      .update(body)
      .digest()
      .subarray(0, 8)
      .equals(buf.subarray(buf.length - 8))
  )
    return out;
  const count = body.readUInt32LE(8);
  const view = new DataView(body.buffer, body.byteOffset, body.byteLength);
  let o = 12;
  for (let i = 0; i < count; i++) {
    if (o + 2 > body.length) return new Map();
    const len = body.readUInt16LE(o);
    if (o + 2 + len + 48 > body.length) return new Map();
    const path = body.toString('utf8', o + 2, o + 2 + len);
    o += 2 + len;
    const dev = view.getFloat64(o, true);
    const ino = view.getFloat64(o + 8, true);
    const size = view.getFloat64(o + 16, true);
    const mtimeMs = view.getFloat64(o + 24, true);
    const ctimeMs = view.getFloat64(o + 32, true);
    const hash = body.toString('hex', o + 40, o + 48);
    o += 48;
    out.set(path, { dev, ino, size, mtimeMs, ctimeMs, hash });
  }
  return out;
}

function sameStat(a: StatFields, b: StatFields): boolean {
  return a.dev === b.dev && a.ino === b.ino && a.size === b.size && a.mtimeMs === b.mtimeMs && a.ctimeMs === b.ctimeMs;
}

export class StatCache {
  private entries = new Map<string, Entry>();
  private readonly used = new Set<string>();
  private dirty = false;
  /** Every hash handed out this build, by absolute path (explanations list changed files from it). */
  readonly hashes = new Map<string, string>();
  hits = 0;
  misses = 0;

  private constructor(
    private readonly file: string,
    private readonly contextDir: string,
    private readonly hashContent: (abs: string) => Promise<string>,
    private readonly racyMs: number,
  ) {}

  static async load(
    dir: string,
    contextDir: string,
    hashContent: (abs: string) => Promise<string>,
    opts: { racyMs?: number } = {},
  ): Promise<StatCache> {
    const c = new StatCache(statCacheFile(dir, contextDir), contextDir, hashContent, opts.racyMs ?? RACY_MS);
    try {
      c.entries = decodeStatCache(await readFile(c.file));
    } catch {
      // none yet, or unreadable: start empty
    }
    return c;
  }

  /**
   * For a context whose every file was written just now (a scratch copy of a git checkout or an
   * archive): no recorded stat could vouch for one (new inodes, new ctimes), so none is read or
   * kept, and the files are hashed once each this build. Their content hashes still make the
   * cache keys, so a rebuild from the same commit or archive hits every step. Nothing else writes
   * the copy while the build reads it, so no entry is racy, however new its times.
   */
  static forFreshFiles(contextDir: string, hashContent: (abs: string) => Promise<string>): StatCache {
    return new StatCache('', contextDir, hashContent, Number.NEGATIVE_INFINITY);
  }

  private rel(abs: string): string {
    return abs.startsWith(this.contextDir + '/') ? abs.slice(this.contextDir.length + 1) : abs;
  }

  /**
   * The content hash of a regular file. `known` may carry the fields the caller's own lstat gave
   * (ctime is read here when it lacks it; lstat is synchronous because a warm check is thousands
   * of tiny syscalls, where the thread pool's round trips would cost more than the calls).
   */
  readonly hashFile = async (abs: string, known?: Partial<StatFields>): Promise<string> => {
    const st =
      known?.ctimeMs !== undefined &&
      known.dev !== undefined &&
      known.ino !== undefined &&
      known.size !== undefined &&
      known.mtimeMs !== undefined
        ? (known as StatFields)
        : lstatSync(abs);
    const fields: StatFields = { dev: st.dev, ino: st.ino, size: st.size, mtimeMs: st.mtimeMs, ctimeMs: st.ctimeMs };
    const rel = this.rel(abs);
    this.used.add(rel);
    const cached = this.entries.get(rel);
    if (cached && sameStat(cached, fields)) {
      this.hits++;
      this.hashes.set(abs, cached.hash);
      return cached.hash;
    }
    this.misses++;
    const readAt = Date.now();
    const hash = await this.hashContent(abs);
    this.hashes.set(abs, hash);
    if (fields.mtimeMs < readAt - this.racyMs && fields.ctimeMs < readAt - this.racyMs) {
      this.entries.set(rel, { ...fields, hash });
      this.dirty = true;
    } else if (cached) {
      this.entries.delete(rel);
      this.dirty = true;
    }
    return hash;
  };

  /**
   * Writes the cache back when this build learnt something. Entries this build did not use are
   * kept only while their file still has the same stat, so deleted files do not pile up.
   * No fsync: a torn file fails its checksum and is ignored.
   */
  async save(): Promise<void> {
    if (!this.dirty || this.file === '') return;
    for (const [rel, e] of this.entries) {
      if (this.used.has(rel)) continue;
      try {
        if (!sameStat(e, lstatSync(join(this.contextDir, rel)))) this.entries.delete(rel);
      } catch {
        this.entries.delete(rel);
      }
    }
    await mkdir(join(this.file, '..'), { recursive: true });
    await writeFileAtomic(this.file, encodeStatCache(this.entries), { sync: false });
    this.dirty = false;
  }
}
