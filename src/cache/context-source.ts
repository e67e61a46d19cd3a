import { createHash } from 'node:crypto';
import { createReadStream, type Stats } from 'node:fs';
import { lstat, readdir, readlink } from 'node:fs/promises';
import { join, posix, relative, sep } from 'node:path';
import { resolveInRoot } from '../snapshot/resolve-in-root.js';
import { UserError } from '../errors.js';
import { hasWildcard, pathMatch } from './path-match.js';
import { xxh } from './xxhash.js';

export type EntryType = 'file' | 'dir' | 'symlink' | 'other';

export interface ContextEntry {
  /** Posix path relative to the context root ('' is the root itself). */
  rel: string;
  type: EntryType;
  mode: number;
  uid: number;
  gid: number;
  size: number;
  dev: number;
  ino: number;
  nlink: number;
  mtimeMs: number;
  linkTarget?: string;
}

export interface SelectedMatch {
  /** The name the match is copied under: the last component of what the pattern matched. */
  name: string;
  /** The matched path itself (file or directory), a symlink already followed inside the root. */
  root: ContextEntry;
  /** For a directory: everything under it that is not ignored or excluded, parents before children. */
  children: ContextEntry[];
}

export interface ContextSelection {
  sources: { pattern: string; matches: SelectedMatch[] }[];
  /** sha256 over every selected entry's path, type, mode, owner, link target and content hash. */
  digest: string;
}

export interface SelectOptions {
  /** .dockerignore: true when the path (relative to the context root) is excluded. */
  isIgnored: (rel: string) => boolean;
  /** True when nothing under an ignored dir can be re-included, so the walk may skip it. */
  canSkipDir?: (rel: string) => boolean;
  /** COPY --exclude patterns, matched against paths relative to each source. */
  exclude?: string[];
  /** Content hash of a regular file; the default reads and hashes it (a stat cache can answer instead). */
  hashFile?: (abs: string, entry: ContextEntry) => Promise<string>;
}

function toEntry(rel: string, st: Stats): ContextEntry {
  const type: EntryType = st.isFile() ? 'file' : st.isDirectory() ? 'dir' : st.isSymbolicLink() ? 'symlink' : 'other';
  return { rel, type, mode: st.mode & 0o7777, uid: st.uid, gid: st.gid, size: st.size, dev: st.dev, ino: st.ino, nlink: st.nlink, mtimeMs: st.mtimeMs };
}

export async function hashFileContent(abs: string): Promise<string> {
  const api = await xxh();
  const h = api.create64();
  for await (const chunk of createReadStream(abs, { highWaterMark: 1 << 20 })) h.update(chunk as Buffer);
  return h.digest().toString(16).padStart(16, '0');
}

/** Normalises a COPY source to a path relative to the context root; `..` cannot climb out. */
export function contextRelative(p: string): string {
  const rel = posix.normalize(p.replace(/^\/+/, '') || '.');
  if (rel === '..' || rel.startsWith('../')) {
    throw new UserError(`"${p}" is outside the build context`, {
      hint: 'COPY and ADD can only read files inside the context directory; move the file into it or widen the context',
    });
  }
  const n = posix.normalize('/' + p);
  return n === '/' ? '' : n.slice(1).replace(/\/$/, '');
}

async function walk(contextDir: string, dirRel: string, opts: SelectOptions, excludeBase: string | undefined, out: ContextEntry[]): Promise<void> {
  const names = (await readdir(join(contextDir, dirRel))).sort();
  for (const name of names) {
    const rel = dirRel ? `${dirRel}/${name}` : name;
    const st = await lstat(join(contextDir, rel));
    const ignored = opts.isIgnored(rel);
    if (excludeBase !== undefined && opts.exclude?.length) {
      const relToSource = excludeBase ? rel.slice(excludeBase.length + 1) : rel;
      if (opts.exclude.some((x) => pathMatch(contextRelative(x), relToSource) || relToSource.startsWith(contextRelative(x) + '/'))) continue;
    }
    if (st.isDirectory()) {
      if (ignored && (opts.canSkipDir?.(rel) ?? true)) continue;
      if (!ignored) out.push(toEntry(rel, st));
      const before = out.length;
      await walk(contextDir, rel, opts, excludeBase, out);
      // A dir that is ignored itself but holds re-included files still appears, as their parent.
      if (ignored && out.length > before) out.splice(before, 0, toEntry(rel, st));
    } else if (!ignored) {
      const e = toEntry(rel, st);
      if (e.type === 'symlink') e.linkTarget = await readlink(join(contextDir, rel));
      out.push(e);
    }
  }
}

/** Path of `host` relative to `root`, posix-style ('' for the root itself). */
function relativeTo(root: string, host: string): string {
  return relative(root, host).split(sep).join('/');
}

/**
 * A matched source as COPY uses it: symlinks on the way and the match itself are followed the
 * way the container would (inside the root, never out of it); the match keeps its own name.
 */
async function followMatch(root: string, rel: string, pattern: string): Promise<{ name: string; entry: ContextEntry }> {
  const name = posix.basename(rel);
  const host = await resolveInRoot(root, '/' + rel, true);
  let st: Stats;
  try {
    st = await lstat(host);
  } catch {
    throw notFound(pattern);
  }
  return { name, entry: toEntry(relativeTo(root, host), st) };
}

async function expandPattern(contextDir: string, pattern: string, opts: SelectOptions): Promise<string[]> {
  const rel = contextRelative(pattern);
  if (!hasWildcard(rel)) {
    const host = await resolveInRoot(contextDir, '/' + rel, false);
    let st: Stats;
    try {
      st = await lstat(host);
    } catch {
      throw notFound(pattern);
    }
    if (rel !== '' && opts.isIgnored(rel) && !st.isDirectory()) throw notFound(pattern);
    return [relativeTo(contextDir, host)];
  }
  // Wildcards match path by path, one component per level, as filepath.Match does.
  const parts = rel.split('/');
  let level: string[] = [''];
  for (let i = 0; i < parts.length; i++) {
    const next: string[] = [];
    for (const dir of level) {
      if (!hasWildcard(parts[i]!)) {
        next.push(dir ? `${dir}/${parts[i]}` : parts[i]!);
        continue;
      }
      let names: string[];
      try {
        names = (await readdir(join(contextDir, dir))).sort();
      } catch {
        continue;
      }
      for (const n of names) if (pathMatch(parts[i]!, n)) next.push(dir ? `${dir}/${n}` : n);
    }
    level = next;
  }
  const out: string[] = [];
  for (const r of level) {
    if (opts.isIgnored(r)) continue;
    try {
      await lstat(await resolveInRoot(contextDir, '/' + r, false));
      out.push(r);
    } catch {
      // a literal component that does not exist under this match
    }
  }
  if (out.length === 0) throw notFound(pattern);
  return out;
}

function notFound(pattern: string): UserError {
  return new UserError(`"${pattern}" not found in the build context or excluded by .dockerignore`, {
    hint: 'paths in COPY/ADD are relative to the build context; check the path and your .dockerignore',
  });
}

/** Selects what COPY's sources name in the context and hashes exactly that. */
export async function selectContext(contextDir: string, patterns: string[], opts: SelectOptions): Promise<ContextSelection> {
  const sources: ContextSelection['sources'] = [];
  for (const pattern of patterns) {
    const matched = await expandPattern(contextDir, pattern, opts);
    const matches: SelectedMatch[] = [];
    for (const rel of matched) {
      const { name, entry: root } = await followMatch(contextDir, rel, pattern);
      if (root.type === 'symlink') root.linkTarget = await readlink(join(contextDir, root.rel));
      const children: ContextEntry[] = [];
      if (root.type === 'dir') await walk(contextDir, root.rel, opts, root.rel, children);
      matches.push({ name, root, children });
    }
    sources.push({ pattern, matches });
  }
  const hashFile = opts.hashFile ?? ((abs: string) => hashFileContent(abs));
  const all = sources.flatMap((s) => s.matches.flatMap((m) => [m.root, ...m.children]));
  const contentHashes = new Map<string, string>();
  await mapLimit(all.filter((e) => e.type === 'file'), 16, async (e) => {
    contentHashes.set(e.rel, await hashFile(join(contextDir, e.rel), e));
  });
  const h = createHash('sha256');
  for (const s of sources) {
    h.update(`source ${s.pattern}\n`);
    for (const m of s.matches) {
      h.update(`match ${m.name}\n`);
      for (const e of [m.root, ...m.children]) {
        h.update(`${e.rel}\0${e.type}\0${e.mode.toString(8)}\0${e.uid}:${e.gid}\0${e.linkTarget ?? ''}\0${contentHashes.get(e.rel) ?? ''}\n`);
      }
    }
  }
  return { sources, digest: `sha256:${h.digest('hex')}` };
}

export async function mapLimit<T>(items: T[], limit: number, fn: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  const workers = Array.from({ length: Math.min(limit, items.length) }, async () => {
    while (next < items.length) await fn(items[next++]!);
  });
  await Promise.all(workers);
}
