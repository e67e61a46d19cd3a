/**
 * What a COPY or ADD step's cache key reads of its sources: the context files it selects (and
 * their hashes), a URL's content or --checksum, a git ref's commit. Kept apart from running the
 * copy (run-copy.ts), so a build whose steps are all cached never loads the copy machinery
 * (archive extraction and its decompressors among it). What key time learnt of a URL or git
 * source travels with the key to the run (OpKey.learned).
 */
import { createHash } from 'node:crypto';
import {
  contextReadError,
  selectContext,
  type ContextSelection,
  type SelectOptions,
} from '../../cache/context-source.js';
import { IgnoreMatcher } from '../../cache/dockerignore.js';
import { resolveGitRef, type GitResolution } from '../../sources/git-checkout.js';
import { HttpDownloads, type Downloaded } from '../../sources/http-download.js';
import type { CopyOp, GitSource, UrlSource } from '../graph.js';
import { contextDirOf, type SolveContext } from './op-context.js';

/** What key time learnt about a URL (its download, unless --checksum spared it) or a git source (its commit). */
export type Remote = { kind: 'url'; file?: Downloaded } | { kind: 'git'; git: GitResolution };

/** A source's cache-key content, and what was learnt making it. */
export interface KeyedRemote {
  selection: ContextSelection;
  remote: Remote;
}

export function downloads(ctx: SolveContext): HttpDownloads {
  return new HttpDownloads(ctx.paths.httpDownloads, ctx.store);
}

/** --exclude and --parents as the context walk takes them; empty wildcards are allowed, as in BuildKit. */
export function selectOptions(op: CopyOp): Pick<SelectOptions, 'exclude' | 'parents' | 'allowEmptyWildcard'> {
  return {
    allowEmptyWildcard: true,
    ...(op.exclude.length ? { exclude: new IgnoreMatcher(op.exclude.map((p) => p.replace(/^\/+(?=.)/, ''))) } : {}),
    ...(op.parents ? { parents: (include: string) => new IgnoreMatcher([include]) } : {}),
  };
}

function digestOf(text: string): string {
  return `sha256:${createHash('sha256').update(text).digest('hex')}`;
}

/** The cache-key content of a URL: its --checksum when given (no request), else what it downloads to. */
export async function keyUrl(src: UrlSource, ctx: SolveContext): Promise<KeyedRemote> {
  let remote: Remote = { kind: 'url' };
  let key = `url\0${src.filename}\0${src.checksum ?? ''}`;
  if (!src.checksum) {
    const file = await downloads(ctx).fetch(src.url, { signal: ctx.signal });
    remote = { kind: 'url', file };
    key = `url\0${src.filename}\0${file.digest}\0${file.lastModified ?? ''}`;
  }
  return { selection: { sources: [], digest: digestOf(key) }, remote };
}

/** The cache-key content of a git source: the commit its ref resolves to now. */
export async function keyGit(src: GitSource, ctx: SolveContext): Promise<KeyedRemote> {
  const git = await resolveGitRef(src, ctx.signal);
  return { selection: { sources: [], digest: digestOf(`git\0${git.commit}`) }, remote: { kind: 'git', git } };
}

/** Selects a COPY's sources (context files, URLs, git refs) while computing the key; reused to copy. */
export async function selectContextSources(
  op: CopyOp,
  ctx: SolveContext,
): Promise<{ selections: Map<number, ContextSelection>; remotes: Map<number, Remote> }> {
  const out = new Map<number, ContextSelection>();
  const remotes = new Map<number, Remote>();
  const keyed = (i: number, k: KeyedRemote): void => {
    out.set(i, k.selection);
    remotes.set(i, k.remote);
  };
  for (const [i, s] of op.sources.entries()) {
    if (s.kind === 'context') {
      const from = contextDirOf(ctx, s.context);
      out.set(
        i,
        await selectContext(from.dir, s.paths, {
          isIgnored: from.ignore.isIgnored,
          ...(from.ignore.canSkipDir ? { canSkipDir: from.ignore.canSkipDir } : {}),
          ...(from.hashFile ? { hashFile: from.hashFile } : {}),
          ...selectOptions(op),
        }).catch((err: unknown) => {
          throw contextReadError(err);
        }),
      );
    } else if (s.kind === 'url') keyed(i, await keyUrl(s, ctx));
    else if (s.kind === 'git') keyed(i, await keyGit(s, ctx));
  }
  return { selections: out, remotes };
}
