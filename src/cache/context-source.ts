import { createHash } from 'node:crypto';
import { lstatSync, readdirSync, readlinkSync, type Stats } from 'node:fs';
import { lstat, readdir, readlink } from 'node:fs/promises';
import { join, posix, relative, sep } from 'node:path';
import { resolveInRoot } from '../store/resolve-in-root.js';
import { asEnvironmentError, UserError } from '../errors.js';
import { hasWildcard, pathMatch } from './path-match.js';
import { hashFileFast } from './file-hash.js';
import type { ContextEntry, EntryType, SelectedMatch } from '../snapshot/context-entry.js';

export type { ContextEntry, EntryType, SelectedMatch };

export interface ContextSelection {
  sources: { pattern: string; matches: SelectedMatch[] }[];
  /** sha256 over every selected entry's path, type, mode, owner, link target and content hash. */
  digest: string;
}

/** Compiled path patterns (moby/patternmatcher semantics: a path matches when it or a parent does). */
export interface PathPatterns {
  matches(rel: string): boolean;
  /** True when a `!` pattern could bring back something under a matched directory. */
  readonly hasExclusions: boolean;
}

export interface SelectOptions {
  /** .dockerignore: true when the path (relative to the context root) is excluded. */
  isIgnored: (rel: string) => boolean;
  /** True when nothing under an ignored dir can be re-included, so the walk may skip it. */
  canSkipDir?: (rel: string) => boolean;
  /**
   * COPY --exclude, matched against paths relative to each copied source (a directory match's
   * contents). The matched source itself is never excluded, as in BuildKit's copier.
   */
  exclude?: PathPatterns;
  /**
   * COPY --parents: each source is `base/./rest` (or just `rest`, based at the root); the base is
   * copied with only what `rest` selects, parent directories kept. Compiles `rest`.
   */
  parents?: (include: string) => PathPatterns;
  /** Names the root in "not found" errors when it is not the build context (e.g. `stage "build"`). */
  where?: string;
  /** A wildcard that matches nothing selects nothing (COPY/ADD) instead of failing. */
  allowEmptyWildcard?: boolean;
  /** Content hash of a regular file; the default reads and hashes it (a stat cache can answer instead). */
  hashFile?: (abs: string, entry: ContextEntry) => Promise<string>;
}

function toEntry(rel: string, st: Stats): ContextEntry {
  const type: EntryType = st.isFile()
    ? 'file'
    : st.isDirectory()
      ? 'dir'
      : st.isSymbolicLink()
        ? 'symlink'
        : st.isSocket()
          ? 'socket'
          : 'other';
  return {
    rel,
    type,
    mode: st.mode & 0o7777,
    uid: st.uid,
    gid: st.gid,
    size: st.size,
    dev: st.dev,
    ino: st.ino,
    nlink: st.nlink,
    mtimeMs: st.mtimeMs,
    ctimeMs: st.ctimeMs,
  };
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

/** What a walk keeps besides .dockerignore: --exclude and --parents, relative to the walked source. */
interface WalkFilter {
  exclude?: PathPatterns;
  include?: { patterns: PathPatterns; text: string };
}

/**
 * Collects everything under `dirRel` (relative to `root`) that survives .dockerignore and the
 * filter. A directory that is itself dropped still appears, right before its children, when
 * something under it is kept (a `!` re-include, or a --parents match deeper down).
 */
async function walk(
  root: string,
  dirRel: string,
  sourceRel: string,
  opts: SelectOptions,
  filter: WalkFilter,
  out: ContextEntry[],
): Promise<void> {
  // Synchronous: a no-op rebuild of a large context is thousands of lstats of a few
  // microseconds each, where thread-pool round trips (even a directory's worth at once) cost
  // more than the calls. The walk visits entries, and recurses, in sorted order.
  const names = readdirSync(join(root, dirRel)).sort();
  const stats = names.map((name) => lstatSync(join(root, dirRel ? `${dirRel}/${name}` : name)));
  for (const [i, name] of names.entries()) {
    const rel = dirRel ? `${dirRel}/${name}` : name;
    const relToSource = sourceRel ? rel.slice(sourceRel.length + 1) : rel;
    const st = stats[i]!;
    const ignored = opts.isIgnored(rel);
    const excluded = filter.exclude?.matches(relToSource) ?? false;
    const included = filter.include ? filter.include.patterns.matches(relToSource) : true;
    const keep = !ignored && !excluded && included;
    if (st.isDirectory()) {
      if (keep) {
        out.push(toEntry(rel, st));
        await walk(root, rel, sourceRel, opts, filter, out);
        continue;
      }
      const mayHoldKept =
        (!ignored || !(opts.canSkipDir?.(rel) ?? true)) &&
        (!excluded || filter.exclude!.hasExclusions) &&
        (included || mayMatchUnder(filter.include!.text, relToSource));
      if (!mayHoldKept) continue;
      const before = out.length;
      await walk(root, rel, sourceRel, opts, filter, out);
      if (out.length > before) out.splice(before, 0, toEntry(rel, st));
    } else if (keep) {
      const e = toEntry(rel, st);
      if (e.type === 'symlink') e.linkTarget = readlinkSync(join(root, rel));
      out.push(e);
    }
  }
}

/** Whether an include pattern could match something under `dir`: a prefix check per component. */
function mayMatchUnder(pattern: string, dir: string): boolean {
  const segs = pattern.split('/');
  const dirs = dir.split('/');
  for (let i = 0; i < Math.min(segs.length, dirs.length); i++) {
    if (segs[i]!.includes('**')) return true;
    if (!pathMatch(segs[i]!, dirs[i]!)) return false;
  }
  return true;
}

/** Path of `host` relative to `root`, posix-style ('' for the root itself). */
function relativeTo(root: string, host: string): string {
  return relative(root, host).split(sep).join('/');
}

/**
 * A matched source as COPY uses it: symlinks on the way and the match itself are followed the
 * way the container would (inside the root, never out of it); the match keeps its own name.
 */
async function followMatch(
  root: string,
  rel: string,
  pattern: string,
  opts: SelectOptions,
): Promise<{ name: string; entry: ContextEntry }> {
  const name = posix.basename(rel);
  const host = await resolveSource(root, '/' + rel, true, pattern);
  let st: Stats;
  try {
    st = await lstat(host);
  } catch {
    throw notFound(pattern, opts.where);
  }
  const entry = toEntry(relativeTo(root, host), st);
  // A link must not bring in what .dockerignore keeps out: BuildKit never sees that file at all.
  if (entry.rel !== rel && entry.type !== 'dir' && opts.isIgnored(entry.rel)) throw notFound(pattern, opts.where);
  return { name, entry };
}

/** resolveInRoot, with a symlink loop reported as the user's mistake it is. */
async function resolveSource(root: string, path: string, followLast: boolean, pattern: string): Promise<string> {
  try {
    return await resolveInRoot(root, path, followLast);
  } catch (err) {
    throw new UserError(`"${pattern}": ${err instanceof Error ? err.message : String(err)}`, {
      hint: 'a symbolic link in the source path points back at itself; fix or remove it',
    });
  }
}

/**
 * The paths a COPY source names, relative to `root`. Without wildcards: the path itself. With
 * wildcards, as BuildKit's ResolveWildcards: the components before the first wildcard are
 * resolved (symlinks followed inside the root) and must exist; from there each component is
 * matched with filepath.Match against directory entries, descending only into real
 * directories. No match is an empty list; the caller decides whether that is an error.
 */
async function expandPattern(root: string, pattern: string, opts: SelectOptions): Promise<string[]> {
  const rel = contextRelative(pattern);
  if (!hasWildcard(rel)) {
    const host = await resolveSource(root, '/' + rel, false, pattern);
    let st: Stats;
    try {
      st = await lstat(host);
    } catch {
      throw notFound(pattern, opts.where);
    }
    if (rel !== '' && opts.isIgnored(rel) && !st.isDirectory()) throw notFound(pattern, opts.where);
    return [relativeTo(root, host)];
  }
  const parts = rel.split('/');
  const first = parts.findIndex(hasWildcard);
  const baseHost = await resolveSource(root, '/' + parts.slice(0, first).join('/'), true, pattern);
  let baseSt: Stats;
  try {
    baseSt = await lstat(baseHost);
  } catch {
    throw notFound(pattern, opts.where);
  }
  if (!baseSt.isDirectory()) return [];
  let level = [relativeTo(root, baseHost)];
  const rest = parts.slice(first);
  for (const [i, part] of rest.entries()) {
    const last = i === rest.length - 1;
    const next: string[] = [];
    for (const dir of level) {
      for (const n of (await readdir(join(root, dir))).sort()) {
        if (!pathMatch(part, n)) continue;
        const r = dir ? `${dir}/${n}` : n;
        if (last) {
          if (!opts.isIgnored(r)) next.push(r);
          continue;
        }
        // Like filepath.Walk: symlinked directories are not entered on the way down.
        if (!(await lstat(join(root, r))).isDirectory()) continue;
        if (opts.isIgnored(r) && (opts.canSkipDir?.(r) ?? true)) continue;
        next.push(r);
      }
    }
    level = next;
  }
  return level;
}

/** `base/./rest` → the base and the include pattern after the pivot; no pivot: based at the root. */
export function splitParents(source: string): { base: string; include: string } {
  const at = source.indexOf('/./');
  const base = at < 0 ? '/' : source.slice(0, at) || '/';
  const include = posix
    .normalize('/' + (at < 0 ? source : source.slice(at + 3)))
    .replace(/^\/+/, '')
    .replace(/\/$/, '');
  return { base, include };
}

/**
 * BuildKit's words are the core (`failed to compute cache key: failed to calculate checksum of ref
 * <ref>: "/x": not found`); where BuildKit names an opaque snapshot as the ref, we name where we looked.
 */
function notFound(pattern: string, where?: string): UserError {
  const core = (ref: string) =>
    `failed to compute cache key: failed to calculate checksum of ref ${ref}: "${posix.join('/', pattern)}": not found`;
  if (where)
    return new UserError(core(where), {
      hint: `paths are looked up in ${where}'s filesystem, from its root`,
    });
  return new UserError(`${core('context')} (not in the build context, or excluded by .dockerignore)`, {
    hint: 'paths in COPY/ADD are relative to the build context; check the path and your .dockerignore',
  });
}

async function selectOne(root: string, pattern: string, opts: SelectOptions): Promise<SelectedMatch[]> {
  let source = pattern;
  let include: WalkFilter['include'];
  if (opts.parents) {
    const split = splitParents(pattern);
    source = split.base;
    if (split.include !== '') include = { patterns: opts.parents(split.include), text: split.include };
    // Without wildcards the named path must exist (BuildKit's RequiredPaths).
    if (!hasWildcard(split.base) && !hasWildcard(split.include)) {
      await expandPattern(root, posix.join(split.base, split.include), opts).catch(() => {
        throw notFound(pattern, opts.where);
      });
    }
  }
  const matched = await expandPattern(root, source, opts);
  if (matched.length === 0 && !opts.allowEmptyWildcard) throw notFound(pattern, opts.where);
  const filter: WalkFilter = { ...(opts.exclude ? { exclude: opts.exclude } : {}), ...(include ? { include } : {}) };
  const matches: SelectedMatch[] = [];
  for (const rel of matched) {
    const { name, entry: match } = await followMatch(root, rel, pattern, opts);
    if (match.type === 'symlink') match.linkTarget = await readlink(join(root, match.rel));
    const children: ContextEntry[] = [];
    if (match.type === 'dir') await walk(root, match.rel, match.rel, opts, filter, children);
    matches.push({ name, root: match, children });
  }
  return matches;
}

/**
 * A file or directory of the build context that tsbuild may not read is the user's to fix (for
 * selectContext on the build context only: in a stage's rootfs or a checkout it would be a bug).
 */
export function contextReadError(err: unknown): unknown {
  return asEnvironmentError(err, 'cannot read the build context', {
    denied: 'make it readable by the user tsbuild runs as, or leave it out of the context with .dockerignore',
  });
}

/** Selects what COPY's sources name in the context (or a stage's rootfs) and hashes exactly that. */
export async function selectContext(
  contextDir: string,
  patterns: string[],
  opts: SelectOptions,
): Promise<ContextSelection> {
  const sources: ContextSelection['sources'] = [];
  for (const pattern of patterns) sources.push({ pattern, matches: await selectOne(contextDir, pattern, opts) });
  const hashFile = opts.hashFile ?? ((abs: string) => hashFileFast(abs));
  const all = sources.flatMap((s) => s.matches.flatMap((m) => [m.root, ...m.children]));
  const contentHashes = new Map<string, string>();
  // One file at a time (their reads are synchronous, see file-hash.ts), giving the event loop a
  // turn every few milliseconds: a base image downloads and unpacks meanwhile.
  let slice = Date.now();
  for (const e of all) {
    if (e.type !== 'file') continue;
    contentHashes.set(e.rel, await hashFile(join(contextDir, e.rel), e));
    if (Date.now() - slice > 10) {
      await new Promise((resolve) => setImmediate(resolve));
      slice = Date.now();
    }
  }
  const h = createHash('sha256');
  for (const s of sources) {
    h.update(`source ${s.pattern}\n`);
    for (const m of s.matches) {
      h.update(`match ${m.name}\n`);
      for (const e of [m.root, ...m.children]) {
        h.update(
          `${e.rel}\0${e.type}\0${e.mode.toString(8)}\0${e.uid}:${e.gid}\0${e.linkTarget ?? ''}\0${contentHashes.get(e.rel) ?? ''}\n`,
        );
      }
    }
  }
  return { sources, digest: `sha256:${h.digest('hex')}` };
}
