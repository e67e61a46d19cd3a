/**
 * What a build's CONTEXT argument names, in buildx's order (build/opt.go loadInputs): `-` is
 * stdin; an existing directory is a local context (even a git work tree: its files as they are);
 * a git reference (BuildKit's ParseGitRef, plus `file://`: see git-ref.ts) is a repository; any
 * other http(s) URL is a tarball or a Dockerfile to download. Two forms for repositories on this
 * machine go beyond buildx, which would call them "not found": a bare repository's directory
 * (it holds no files to build, only commits) and `PATH#ref:subdir` where PATH is a repository.
 */
import { statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { applyFragment, parseGitRef, type GitRef } from './git-ref.js';

export type ContextArg =
  | { kind: 'stdin' }
  | { kind: 'dir'; dir: string }
  | { kind: 'git'; git: GitRef }
  | { kind: 'url'; url: string };

function isDir(path: string): boolean {
  try {
    return statSync(path).isDirectory();
  } catch {
    return false;
  }
}

function isFile(path: string): boolean {
  try {
    return statSync(path).isFile();
  } catch {
    return false;
  }
}

/** git's own test for a repository directory (is_git_directory): HEAD, objects/ and refs/ at its top. */
function isBareRepository(dir: string): boolean {
  return isFile(join(dir, 'HEAD')) && isDir(join(dir, 'objects')) && isDir(join(dir, 'refs'));
}

/** A work tree (`.git` dir or gitfile) or a bare repository. */
function isRepository(dir: string): boolean {
  if (!isDir(dir)) return false;
  return isBareRepository(dir) || isDir(join(dir, '.git')) || isFile(join(dir, '.git'));
}

/** The context `arg` names (relative paths from `cwd`), or undefined when it names nothing tsbuild can build from. */
export function classifyContext(arg: string, cwd: string = process.cwd()): ContextArg | undefined {
  if (arg === '-') return { kind: 'stdin' };
  const dir = resolve(cwd, arg);
  if (isDir(dir)) return isBareRepository(dir) ? { kind: 'git', git: { remote: dir } } : { kind: 'dir', dir };
  const git = parseGitRef(arg, { context: true });
  if (git) return { kind: 'git', git };
  if (/^https?:\/\//i.test(arg)) return { kind: 'url', url: arg };
  const hashAt = arg.indexOf('#');
  if (hashAt > 0 && !/^[A-Za-z][A-Za-z0-9+.-]*:\/\//.test(arg)) {
    const repo = resolve(cwd, arg.slice(0, hashAt));
    if (isRepository(repo)) {
      const ref: GitRef = { remote: repo };
      applyFragment(arg, arg.slice(hashAt + 1), ref);
      return { kind: 'git', git: ref };
    }
  }
  return undefined;
}
