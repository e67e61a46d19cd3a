/**
 * ADD <git URL> and a git build context: the ref is resolved to a commit with `git ls-remote`
 * (that commit is ADD's cache key, as in BuildKit), and the commit is checked out into a fresh
 * directory when the step runs (or, for a context, before the build starts).
 * The git program does the transport work, so https, dumb http, git:// and ssh (with the user's
 * own keys and agent) all work the way they do for `git clone`.
 */
import { spawn } from 'node:child_process';
import { rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { EnvironmentError, UserError } from '../errors.js';
import { redactUrl } from './http-download.js';

export interface GitResolution {
  commit: string;
  /** The full ref name ls-remote listed for the ref, used to fetch when a commit cannot be asked for directly. */
  refName?: string;
}

class GitFailed extends Error {
  constructor(
    readonly args: string[],
    readonly stderr: string,
    code: number | null,
  ) {
    super(`git ${args.join(' ')} failed (exit ${code}): ${stderr.trim()}`);
  }
}

/** Runs git with umask 022 (checkout modes must not depend on the caller's umask) and no prompts. */
function git(args: string[], signal?: AbortSignal): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn('/bin/sh', ['-c', 'umask 022 && exec git "$@"', 'git', ...args], {
      env: { ...process.env, GIT_TERMINAL_PROMPT: '0', LC_ALL: 'C' },
      stdio: ['ignore', 'pipe', 'pipe'],
      ...(signal ? { signal } : {}),
    });
    let out = '';
    let err = '';
    child.stdout.on('data', (c: Buffer) => (out += c.toString()));
    child.stderr.on('data', (c: Buffer) => (err += c.toString()));
    child.on('error', reject);
    child.on('close', (code) => {
      if (code === 0) resolve(out);
      else if (code === 127)
        reject(
          new EnvironmentError('a git source (ADD or a build context) needs the git program, which is not installed', {
            hint: 'apt-get install git',
          }),
        );
      else reject(new GitFailed(args, err, code));
    });
  });
}

function gitError(remote: string, what: string, err: unknown): unknown {
  if (!(err instanceof GitFailed)) return err;
  const detail = err.stderr.trim().split('\n').slice(-3).join('\n');
  return new UserError(`git ${what} ${redactUrl(remote)} failed: ${detail || err.message}`, {
    hint: 'check the repository URL and the ref; git must be able to reach it from this machine',
  });
}

const FULL_COMMIT = /^(?:[0-9a-f]{40}|[0-9a-f]{64})$/;

/** The commit `ref` names on `remote` (its default branch when no ref), checked against `checksum`. */
export async function resolveGitRef(
  src: { remote: string; ref?: string; checksum?: string },
  signal?: AbortSignal,
): Promise<GitResolution> {
  let res: GitResolution | undefined;
  if (src.ref && FULL_COMMIT.test(src.ref)) res = { commit: src.ref };
  else {
    let listing: string;
    try {
      listing = await git(['ls-remote', src.remote], signal);
    } catch (err) {
      throw gitError(src.remote, 'ls-remote', err);
    }
    const refs = new Map<string, string>();
    for (const line of listing.split('\n')) {
      const [sha, name] = line.split('\t');
      if (sha && name) refs.set(name, sha);
    }
    const candidates = !src.ref
      ? ['HEAD']
      : src.ref.startsWith('refs/')
        ? [src.ref]
        : [src.ref, `refs/heads/${src.ref}`, `refs/tags/${src.ref}`];
    for (const name of candidates) {
      // An annotated tag lists the tag object and, as `^{}`, the commit it points at.
      const commit = refs.get(`${name}^{}`) ?? refs.get(name);
      if (commit) {
        res = name === 'HEAD' ? { commit } : { commit, refName: name };
        break;
      }
    }
    if (!res) {
      // BuildKit's words first
      throw new UserError(`repository does not contain ref ${src.ref ?? 'HEAD'} (${redactUrl(src.remote)})`, {
        hint: 'name a branch, a tag, a full ref (refs/...) or a full commit hash',
      });
    }
  }
  if (src.checksum && !res.commit.startsWith(src.checksum)) {
    throw new UserError(
      `expected checksum to match ${src.checksum}, but ${src.ref ?? 'HEAD'} of ${redactUrl(src.remote)} is commit ${res.commit}`,
      {
        hint: 'the ref moved, or --checksum names another commit',
      },
    );
  }
  return res;
}

async function exists(path: string): Promise<boolean> {
  return stat(path).then(
    () => true,
    () => false,
  );
}

/**
 * Checks `commit` out into `dir` (created): asked for by hash first (shallow where the server
 * allows it), then by its ref name, then everything. Submodules are checked out too, unless
 * `submodules` is false. Without `keepGitDir` the .git directory is removed afterwards.
 */
export async function checkoutGit(
  remote: string,
  res: GitResolution,
  dir: string,
  opts: { keepGitDir: boolean; submodules?: boolean; signal?: AbortSignal },
): Promise<void> {
  const inDir = (args: string[]) => git(['-C', dir, ...args], opts.signal);
  const hasCommit = () =>
    inDir(['cat-file', '-e', `${res.commit}^{commit}`]).then(
      () => true,
      () => false,
    );
  try {
    // a SHA-256 repository is fetched only into one of its own object format
    await git(['init', '-q', ...(res.commit.length === 64 ? ['--object-format=sha256'] : []), dir], opts.signal);
    await inDir(['remote', 'add', 'origin', remote]);
    const attempts = [
      ['fetch', '-q', '--depth=1', '--no-tags', 'origin', res.commit],
      ...(res.refName ? [['fetch', '-q', '--no-tags', 'origin', res.refName]] : []),
      ['fetch', '-q', '--tags', 'origin', '+refs/heads/*:refs/remotes/origin/*'],
    ];
    let lastErr: unknown;
    for (const args of attempts) {
      try {
        await inDir(args);
        if (await hasCommit()) break;
      } catch (err) {
        lastErr = err;
      }
    }
    if (!(await hasCommit())) {
      if (lastErr) throw lastErr;
      throw new UserError(`commit ${res.commit} is not in ${redactUrl(remote)}`);
    }
    await inDir(['-c', 'advice.detachedHead=false', 'checkout', '-q', res.commit]);
    if (opts.submodules !== false && (await exists(join(dir, '.gitmodules')))) {
      await inDir(['submodule', 'update', '--init', '--recursive', '-q']);
    }
  } catch (err) {
    throw gitError(remote, 'fetch of', err);
  }
  if (!opts.keepGitDir) await rm(join(dir, '.git'), { recursive: true, force: true });
}
