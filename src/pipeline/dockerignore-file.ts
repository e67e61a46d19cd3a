import { lstat, readFile } from 'node:fs/promises';
import { basename, dirname } from 'node:path';
import { IgnoreMatcher, parseDockerignore } from '../cache/dockerignore.js';
import { resolveInRoot } from '../store/resolve-in-root.js';

export interface IgnorePredicates {
  isIgnored(rel: string): boolean;
  canSkipDir?(rel: string): boolean;
  /** The cleaned patterns, exclusions with their `!` (the CopyIgnoredFile check). */
  patterns?: readonly string[];
  /** The file's size in bytes (0: no file), for the `[internal] load .dockerignore` step's transfer line. */
  bytes?: number;
}

/**
 * `<Dockerfile>.dockerignore` beside the Dockerfile wins over `<context>/.dockerignore`, as in
 * BuildKit. No file: nothing is ignored. Each is read as BuildKit sees it through its local
 * source: a symlink resolves inside the directory it sits in (the context, or the Dockerfile's
 * dir), so a link to a host file reads that path there, and nothing of the host.
 */
export async function loadDockerignore(
  contextDir: string,
  dockerfilePath: string | undefined,
): Promise<IgnorePredicates> {
  const candidates: [string, string][] = [
    ...(dockerfilePath
      ? [[dirname(dockerfilePath), `${basename(dockerfilePath)}.dockerignore`] as [string, string]]
      : []),
    [contextDir, '.dockerignore'],
  ];
  for (const [root, name] of candidates) {
    const text = await readInside(root, name);
    if (text === undefined) continue;
    const matcher = new IgnoreMatcher(parseDockerignore(text));
    return {
      isIgnored: (rel) => matcher.matches(rel),
      canSkipDir: (rel) => matcher.canSkipDir(rel),
      patterns: matcher.patterns,
      bytes: Buffer.byteLength(text),
    };
  }
  return { isIgnored: () => false, bytes: 0 };
}

/** A regular file at `/name` of `root`, symlinks resolved inside `root`; undefined when there is none. */
async function readInside(root: string, name: string): Promise<string | undefined> {
  const path = await resolveInRoot(root, '/' + name).catch(() => undefined);
  if (!path || !(await lstat(path).catch(() => undefined))?.isFile()) return undefined;
  return readFile(path, 'utf8').catch(() => undefined);
}
