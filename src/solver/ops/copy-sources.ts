/**
 * What a COPY or ADD step's cache key reads of its sources: the context files it selects (and
 * their hashes), a URL's content or --checksum, a git ref's commit. Kept apart from running the
 * copy (run-copy.ts), so a build whose steps are all cached never loads the copy machinery
 * (archive extraction and its decompressors among it). What key time learnt of a URL or git
 * source is kept here for the run.
 */
import { createHash } from 'node:crypto';
import { join } from 'node:path';
import {
  contextReadError,
  selectContext,
  type ContextSelection,
  type SelectOptions,
} from '../../cache/context-source.js';
import { IgnoreMatcher } from '../../frontend/dockerignore.js';
import { resolveGitRef, type GitResolution } from '../../sources/git-checkout.js';
import { HttpDownloads, type Downloaded } from '../../sources/http-download.js';
import type { CopyOp, GitSource, UrlSource } from '../graph.js';
import type { OpRun, SolveContext } from './op-context.js';

type Remote = { kind: 'url'; file?: Downloaded } | { kind: 'git'; git: GitResolution };

/** What key time learnt about a URL or git source, found again by its selection when the step runs. */
export const remotes = new WeakMap<ContextSelection, Remote>();

export function downloads(ctx: SolveContext): HttpDownloads {
  return new HttpDownloads(join(ctx.paths.root, 'sources', 'http'));
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
export async function keyUrl(src: UrlSource, ctx: SolveContext): Promise<ContextSelection> {
  let remote: Remote = { kind: 'url' };
  let key = `url\0${src.filename}\0${src.checksum ?? ''}`;
  if (!src.checksum) {
    const file = await downloads(ctx).fetch(src.url, { signal: ctx.signal });
    remote = { kind: 'url', file };
    key = `url\0${src.filename}\0${file.digest}\0${file.lastModified ?? ''}`;
  }
  const sel: ContextSelection = { sources: [], digest: digestOf(key) };
  remotes.set(sel, remote);
  return sel;
}

/** The cache-key content of a git source: the commit its ref resolves to now. */
export async function keyGit(src: GitSource, ctx: SolveContext): Promise<ContextSelection> {
  const git = await resolveGitRef(src, ctx.signal);
  const sel: ContextSelection = { sources: [], digest: digestOf(`git\0${git.commit}`) };
  remotes.set(sel, { kind: 'git', git });
  return sel;
}

/** Selects a COPY's sources (context files, URLs, git refs) while computing the key; reused to copy. */
export async function selectContextSources(
  op: CopyOp,
  run: Pick<OpRun, 'ctx'>,
): Promise<Map<number, ContextSelection>> {
  const out = new Map<number, ContextSelection>();
  const { ctx } = run;
  for (const [i, s] of op.sources.entries()) {
    if (s.kind === 'context') {
      out.set(
        i,
        await selectContext(ctx.contextDir, s.paths, {
          isIgnored: ctx.ignore.isIgnored,
          ...(ctx.ignore.canSkipDir ? { canSkipDir: ctx.ignore.canSkipDir } : {}),
          ...(ctx.hashFile ? { hashFile: ctx.hashFile } : {}),
          ...selectOptions(op),
        }).catch((err: unknown) => {
          throw contextReadError(err);
        }),
      );
    } else if (s.kind === 'url') out.set(i, await keyUrl(s, ctx));
    else if (s.kind === 'git') out.set(i, await keyGit(s, ctx));
  }
  return out;
}
