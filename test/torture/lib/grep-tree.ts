/**
 * Binary-safe search for a byte string in everything under some roots: file contents (read in
 * chunks that overlap by the needle's length), file names and symlink targets. Symlinks are not
 * followed and only regular files are opened (a FIFO would block), so any tree can be scanned.
 */
import { lstat, open, readdir, readFile, readlink } from 'node:fs/promises';
import { join } from 'node:path';

export interface GrepOptions {
  /** Paths not to enter (exact, or a prefix followed by '/'). */
  skip?: string[];
  /** Files larger than this are read only up to it (default 256 MiB). */
  maxFileBytes?: number;
}

export async function grepTree(roots: string[], needle: Buffer, opts: GrepOptions = {}): Promise<string[]> {
  const hits: string[] = [];
  const skip = opts.skip ?? [];
  const skipped = (p: string): boolean => skip.some((s) => p === s || p.startsWith(s + '/'));
  const visit = async (path: string): Promise<void> => {
    if (skipped(path)) return;
    const st = await lstat(path).catch(() => undefined);
    if (!st) return;
    if (Buffer.from(path).includes(needle)) hits.push(`${path} (name)`);
    if (st.isSymbolicLink()) {
      const target = await readlink(path, { encoding: 'buffer' }).catch(() => undefined);
      if (target?.includes(needle)) hits.push(`${path} (link target)`);
    } else if (st.isDirectory()) {
      const names = await readdir(path).catch(() => [] as string[]);
      for (const n of names) await visit(join(path, n));
    } else if (st.isFile()) {
      if (await fileContains(path, needle, opts.maxFileBytes ?? 256 << 20)) hits.push(path);
    }
  };
  for (const r of roots) await visit(r);
  return hits;
}

export async function fileContains(path: string, needle: Buffer, maxBytes = Infinity): Promise<boolean> {
  const fh = await open(path, 'r').catch(() => undefined);
  if (!fh) return false;
  try {
    const chunk = Buffer.alloc(1 << 20);
    let carry = Buffer.alloc(0);
    let pos = 0;
    while (pos < maxBytes) {
      const { bytesRead } = await fh.read(chunk, 0, chunk.length, pos);
      if (bytesRead === 0) return false;
      const window = Buffer.concat([carry, chunk.subarray(0, bytesRead)]);
      if (window.includes(needle)) return true;
      carry = window.subarray(Math.max(0, window.length - needle.length + 1));
      pos += bytesRead;
    }
    return false;
  } catch {
    return false;
  } finally {
    await fh.close();
  }
}

/** Whether `path` lies on a memory-backed filesystem (tmpfs, ramfs): gone at reboot, never on a disk. */
export async function onMemoryFs(path: string): Promise<boolean> {
  const info = await readFile('/proc/self/mountinfo', 'utf8');
  let best = { point: '', type: '' };
  for (const line of info.split('\n')) {
    const [pre, post] = line.split(' - ');
    const point = pre?.split(' ')[4]?.replace(/\\([0-7]{3})/g, (_, o: string) => String.fromCharCode(parseInt(o, 8)));
    const type = post?.split(' ')[0];
    if (!point || !type) continue;
    const under = point === '/' || path === point || path.startsWith(point + '/');
    // the last mount on a point hides the earlier ones
    if (under && point.length >= best.point.length) best = { point, type };
  }
  return best.type === 'tmpfs' || best.type === 'ramfs';
}
