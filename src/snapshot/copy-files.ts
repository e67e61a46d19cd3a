import { chmod, chown, copyFile, lchown, link, lstat, lutimes, mkdir, rm, symlink, utimes, writeFile } from 'node:fs/promises';
import { join, posix } from 'node:path';
import { UserError } from '../errors.js';
import type { ContextEntry, SelectedMatch } from '../cache/context-source.js';
import { resolveInRoot } from './resolve-in-root.js';

export interface Owner {
  uid: number;
  gid: number;
}

export interface CopyRequest {
  /** Host path of the destination rootfs (an overlay merged mount). */
  destRoot: string;
  /** Absolute path in the destination; a trailing '/' means "into this directory". */
  dest: string;
  /** Each source's host root and what was selected under it. */
  sources: { srcRoot: string; matches: SelectedMatch[] }[];
  inline: { name: string; content: string }[];
  /** --chown owner; otherwise `preserveOwner` keeps the source's owners, else 0:0. */
  owner?: Owner;
  preserveOwner: boolean;
  chmod?: number;
}

async function statOrUndefined(p: string) {
  try {
    return await lstat(p);
  } catch {
    return undefined;
  }
}

/** mkdir -p inside the rootfs, giving directories it creates `owner` and 0755 (as BuildKit does). */
async function mkdirAllInRoot(root: string, dir: string, owner: Owner): Promise<string> {
  const parts = posix.normalize(dir).split('/').filter(Boolean);
  let current = '/';
  for (const part of parts) {
    current = posix.join(current, part);
    const host = await resolveInRoot(root, current);
    const st = await statOrUndefined(host);
    if (!st) {
      await mkdir(host, { mode: 0o755 });
      await chmod(host, 0o755);
      await chown(host, owner.uid, owner.gid);
    } else if (!st.isDirectory()) {
      throw new UserError(`cannot copy to ${dir}: ${current} exists and is not a directory`);
    }
  }
  return resolveInRoot(root, dir);
}

/** Copies selected files into a rootfs with Docker's COPY rules for destinations, owners and modes. */
export async function copyIntoRoot(req: CopyRequest): Promise<void> {
  const defaultOwner: Owner = req.owner ?? { uid: 0, gid: 0 };
  const matchCount = req.sources.reduce((n, s) => n + s.matches.length, 0) + req.inline.length;
  const destHost = await resolveInRoot(req.destRoot, req.dest);
  const destStat = await statOrUndefined(destHost);
  const destIsDir = req.dest.endsWith('/') || matchCount > 1 || !!destStat?.isDirectory();
  const dirTimes: { path: string; atime: number; mtime: number }[] = [];
  const links = new Map<string, string>();

  const ownerOf = (e: ContextEntry): Owner => req.owner ?? (req.preserveOwner ? { uid: e.uid, gid: e.gid } : defaultOwner);

  const place = async (srcRoot: string, e: ContextEntry, target: string): Promise<void> => {
    const src = join(srcRoot, e.rel);
    const existing = await statOrUndefined(target);
    const owner = ownerOf(e);
    const mode = req.chmod ?? e.mode;
    if (e.type === 'dir') {
      if (existing && !existing.isDirectory()) await rm(target, { recursive: true, force: true });
      if (!existing || !existing.isDirectory()) {
        await mkdir(target);
      }
      await chown(target, owner.uid, owner.gid);
      await chmod(target, mode);
      dirTimes.push({ path: target, atime: e.mtimeMs / 1000, mtime: e.mtimeMs / 1000 });
      return;
    }
    if (existing?.isDirectory()) {
      throw new UserError(`cannot copy ${e.rel || '.'} over the directory ${target.slice(req.destRoot.length) || '/'}`);
    }
    if (existing) await rm(target, { force: true });
    const inode = `${e.dev}:${e.ino}`;
    if (e.nlink > 1 && e.type === 'file' && links.has(inode)) {
      await link(links.get(inode)!, target);
      return;
    }
    if (e.type === 'symlink') {
      await symlink(e.linkTarget!, target);
      await lchown(target, owner.uid, owner.gid);
      await lutimes(target, e.mtimeMs / 1000, e.mtimeMs / 1000);
      return;
    }
    if (e.type !== 'file') return; // sockets, fifos and devices are not copied from a context
    await copyFile(src, target);
    await chown(target, owner.uid, owner.gid);
    await chmod(target, mode);
    await utimes(target, e.mtimeMs / 1000, e.mtimeMs / 1000);
    if (e.nlink > 1) links.set(inode, target);
  };

  for (const source of req.sources) {
    for (const m of source.matches) {
      if (m.root.type === 'dir') {
        // A directory source copies its contents; a destination it has to create gets 0755 and the
        // copy's owner, not the source directory's metadata (as BuildKit's MkdirAll does).
        const target = await mkdirAllInRoot(req.destRoot, req.dest, defaultOwner);
        const base = m.root.rel;
        for (const child of m.children) {
          const rel = base ? child.rel.slice(base.length + 1) : child.rel;
          await place(source.srcRoot, child, join(target, rel));
        }
        continue;
      }
      const name = m.name;
      if (destIsDir) {
        const dir = await mkdirAllInRoot(req.destRoot, req.dest, defaultOwner);
        await place(source.srcRoot, m.root, join(dir, name));
      } else {
        const parent = await mkdirAllInRoot(req.destRoot, posix.dirname(req.dest), defaultOwner);
        await place(source.srcRoot, m.root, join(parent, posix.basename(req.dest)));
      }
    }
  }
  for (const doc of req.inline) {
    const target = destIsDir
      ? join(await mkdirAllInRoot(req.destRoot, req.dest, defaultOwner), doc.name)
      : join(await mkdirAllInRoot(req.destRoot, posix.dirname(req.dest), defaultOwner), posix.basename(req.dest));
    await rm(target, { force: true });
    await writeFile(target, doc.content);
    await chown(target, defaultOwner.uid, defaultOwner.gid);
    await chmod(target, req.chmod ?? 0o644);
  }
  // Directory mtimes last: writing their children changed them.
  for (const d of dirTimes.reverse()) await utimes(d.path, d.atime, d.mtime);
}
