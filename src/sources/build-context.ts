/**
 * The build context as `docker build` / `docker buildx build` take it, made into a directory the
 * build reads: a local directory as it is; stdin (a tar archive, compressed or not, or a lone
 * Dockerfile), a git repository at a ref (and subdir), or an http(s) URL (a tarball or a
 * Dockerfile) fetched into a scratch dir under the state dir's owner-scoped tmp, so that a killed
 * build's copy is swept with the rest of its leftovers (cache/sweep.ts). Which form an argument
 * is: context-arg.ts. The fetching reuses ADD's: git-checkout.ts, http-download.ts (bytes in the
 * content store, re-validated by ETag), and the snapshotter's safe extraction.
 */
import { createWriteStream } from 'node:fs';
import { copyFile, mkdir, mkdtemp, open, readFile, rm, stat } from 'node:fs/promises';
import { isAbsolute, join, posix, resolve } from 'node:path';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { UsageError, UserError, withPrefix } from '../errors.js';
import { resolveInRoot } from '../store/resolve-in-root.js';
import { StatePaths } from '../store/state-paths.js';
import { classifyContext } from './context-arg.js';
import type { GitRef } from './git-ref.js';
import { redactUrl } from './http-download.js';

/** A context fetched into a scratch dir. */
export interface FetchedContext {
  /** How messages name the context (credentials redacted). */
  name: string;
  /**
   * What later builds of the same source share (their step history, which explains a cache
   * miss): the repository and subdir whatever the ref, the URL, or stdin.
   */
  key: string;
  /** How messages name the Dockerfile (its path inside the context, not the scratch dir's). */
  dockerfileName: string;
  /** The git or http(s) URL it was fetched from (absent: stdin), whose date SOURCE_DATE_EPOCH=context takes. */
  url?: string;
  /** A git context: the repository, the ref asked for, and the commit it resolved to (provenance's material). */
  git?: { remote: string; ref?: string; commit: string };
}

export interface BuildContext {
  /** The directory the build reads. */
  dir: string;
  /** The Dockerfile on this machine, or its text (`dockerfileSource`) when it came from stdin or a URL. */
  dockerfilePath?: string;
  dockerfileSource?: string;
  /** Set when `dir` is a scratch copy (stdin, git, a URL); absent for a local directory. */
  fetched?: FetchedContext;
  /** Removes the scratch copy (nothing for a local directory). */
  cleanup(): Promise<void>;
}

export interface ContextOptions {
  /**
   * `-f` as given: `-` (stdin), a path relative to the working directory for a local context, a
   * path inside the context for a fetched one (an absolute path is this machine's, as buildx takes it).
   */
  file?: string;
  stateRoot: string;
  /** BUILDKIT_CONTEXT_KEEP_GIT_DIR: keep `.git` in a git context (a URL's `?keep-git-dir=` wins). */
  keepGitDir: boolean;
  stdin: Readable;
  signal?: AbortSignal;
}

/** How much of the start of a file tells an archive from a Dockerfile (buildx peeks 1024 bytes). */
const HEAD_BYTES = 1024;

async function readText(stream: Readable): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const c of stream) chunks.push(c as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

async function exists(path: string): Promise<boolean> {
  return stat(path).then(
    () => true,
    () => false,
  );
}

/** Go's strconv.ParseBool, as BuildKit reads BUILDKIT_CONTEXT_KEEP_GIT_DIR (anything else: false). */
export function parseBoolArg(v: string | undefined): boolean {
  return v !== undefined && /^(1|t|T|TRUE|true|True)$/.test(v);
}

/** The directory and Dockerfile of the build's context `arg`. */
export async function resolveBuildContext(arg: string, opts: ContextOptions): Promise<BuildContext> {
  const form = classifyContext(arg);
  if (form === undefined) {
    throw new UsageError(`build context "${arg}" is not a directory, a git repository or an http(s) URL`, {
      hint: 'pass the directory holding your sources (tsbuild build -t app .), a git URL (https://host/repo.git#ref:subdir), a tarball URL, or - to read a tar or a Dockerfile from stdin',
    });
  }
  if (form.kind === 'dir') return localContext(arg, form.dir, opts);
  if (form.kind === 'stdin' && opts.file === '-') {
    throw new UsageError('stdin cannot be both the build context and the Dockerfile (context - with -f -)', {
      hint: 'pipe a tar of the context with -f PATH inside it, or pipe the Dockerfile with a directory as the context',
    });
  }
  const paths = new StatePaths(opts.stateRoot);
  await mkdir(paths.tmp, { recursive: true });
  const scratch = await mkdtemp(join(paths.tmp, 'context-'));
  const cleanup = () => rm(scratch, { recursive: true, force: true });
  try {
    if (form.kind === 'git') return { ...(await gitContext(arg, form.git, scratch, opts)), cleanup };
    const name = form.kind === 'stdin' ? '-' : redactUrl(form.url);
    const key = form.kind === 'stdin' ? 'stdin' : `url ${form.url}`;
    let file: string;
    if (form.kind === 'stdin') {
      file = join(scratch, 'stdin');
      await pipeline(opts.stdin, createWriteStream(file));
    } else {
      const { HttpDownloads } = await import('./http-download.js');
      const { ContentStore } = await import('../store/content-store.js');
      const downloads = new HttpDownloads(paths.httpDownloads, new ContentStore(paths.content));
      file = (await downloads.fetch(form.url, opts.signal ? { signal: opts.signal } : {})).path;
    }
    const source = { name, key, ...(form.kind === 'stdin' ? {} : { url: form.url }) };
    return { ...(await archiveOrDockerfile(file, join(scratch, 'context'), source, opts)), cleanup };
  } catch (err) {
    await cleanup();
    throw withPrefix(err, `build context ${arg === '-' ? '-' : redactUrl(arg)}: `);
  }
}

/** `Dockerfile`, else `dockerfile` when only that is there (BuildKit's dockerui falls back to it too). */
async function defaultDockerfile(dir: string): Promise<string> {
  const upper = resolve(dir, 'Dockerfile');
  if (await exists(upper)) return upper;
  const lower = resolve(dir, 'dockerfile');
  return (await exists(lower)) ? lower : upper;
}

/** A local directory: the Dockerfile is `-f` (relative to the working directory), else `<dir>/Dockerfile`. */
async function localContext(arg: string, dir: string, opts: ContextOptions): Promise<BuildContext> {
  const cleanup = async () => {};
  if (opts.file === '-') return { dir, dockerfileSource: await readText(opts.stdin), cleanup };
  const path = opts.file ? resolve(opts.file) : await defaultDockerfile(dir);
  if (!(await exists(path))) {
    throw new UserError(`no Dockerfile at ${opts.file ?? `${arg}/Dockerfile`}`, {
      hint: 'name it with -f PATH, or -f - to read it from stdin',
    });
  }
  return { dir, dockerfilePath: path, cleanup };
}

async function gitContext(
  arg: string,
  git: GitRef,
  scratch: string,
  opts: ContextOptions,
): Promise<Omit<BuildContext, 'cleanup'>> {
  const commits: string[] = [];
  const dir = await checkoutContext(git, scratch, opts, commits);
  const fetched = {
    name: redactUrl(arg),
    key: `git ${git.remote}#:${git.subdir ?? ''}`,
    url: arg,
    ...(commits[0] ? { git: { remote: git.remote, ...(git.ref ? { ref: git.ref } : {}), commit: commits[0] } } : {}),
  };
  return dockerfileIn(dir, fetched, opts);
}

/** The repository's tree at the ref (its subdir, when one is named), checked out under `scratch`. */
async function checkoutContext(
  git: GitRef,
  scratch: string,
  opts: Pick<ContextOptions, 'keepGitDir' | 'signal'>,
  commits: string[] = [],
): Promise<string> {
  const { checkoutGit, resolveGitRef } = await import('./git-checkout.js');
  const resolved = await resolveGitRef(git, opts.signal);
  commits.push(resolved.commit);
  const repo = join(scratch, 'repo');
  await checkoutGit(git.remote, resolved, repo, {
    keepGitDir: git.keepGitDir ?? opts.keepGitDir,
    ...(git.submodules !== undefined ? { submodules: git.submodules } : {}),
    ...(opts.signal ? { signal: opts.signal } : {}),
  });
  if (!git.subdir) return repo;
  const dir = await resolveInRoot(repo, '/' + git.subdir);
  if (!(await stat(dir).catch(() => undefined))?.isDirectory()) {
    throw new UserError(`no directory ${git.subdir} in the repository at commit ${resolved.commit}`, {
      hint: 'name a directory of the repository after the ref: #REF:SUBDIR',
    });
  }
  return dir;
}

/**
 * A `--build-context NAME=` git repository or http(s) URL, fetched into a scratch dir as
 * BuildKit's named contexts have them: a repository's tree at the ref (and subdir), or the
 * downloaded file as the one file `context` (BuildKit's llb.HTTP with Filename "context"; not
 * extracted).
 */
export async function fetchNamedContext(
  name: string,
  value: string,
  opts: Pick<ContextOptions, 'stateRoot' | 'keepGitDir' | 'signal'>,
): Promise<{ dir: string; cleanup(): Promise<void> }> {
  const form = classifyContext(value);
  const paths = new StatePaths(opts.stateRoot);
  await mkdir(paths.tmp, { recursive: true });
  const scratch = await mkdtemp(join(paths.tmp, 'context-'));
  const cleanup = () => rm(scratch, { recursive: true, force: true });
  try {
    if (form?.kind === 'git') return { dir: await checkoutContext(form.git, scratch, opts), cleanup };
    if (form?.kind !== 'url') throw new Error(`fetchNamedContext: ${value} is no git or URL context`);
    const { HttpDownloads } = await import('./http-download.js');
    const { ContentStore } = await import('../store/content-store.js');
    const downloads = new HttpDownloads(paths.httpDownloads, new ContentStore(paths.content));
    const file = (await downloads.fetch(form.url, opts.signal ? { signal: opts.signal } : {})).path;
    const dir = join(scratch, 'context');
    await mkdir(dir);
    await copyFile(file, join(dir, 'context'));
    return { dir, cleanup };
  } catch (err) {
    await cleanup();
    throw withPrefix(err, `build context ${name} (${redactUrl(value)}): `);
  }
}

/** The start of a file: enough to tell an archive from text. */
async function head(path: string): Promise<Buffer> {
  const fh = await open(path, 'r');
  try {
    const buf = Buffer.alloc(HEAD_BYTES);
    const { bytesRead } = await fh.read(buf, 0, HEAD_BYTES, 0);
    return buf.subarray(0, bytesRead);
  } finally {
    await fh.close();
  }
}

/**
 * A tar archive (compressed or not: docker's test is the compression magic, else a tar header)
 * is extracted into `into` and is the context; anything else is a Dockerfile, and the context
 * is empty, as `docker build - < Dockerfile` has it.
 */
async function archiveOrDockerfile(
  file: string,
  into: string,
  source: { name: string; key: string; url?: string },
  opts: ContextOptions,
): Promise<Omit<BuildContext, 'cleanup'>> {
  const [{ compressionOf }, { isTarArchive, isTarHeader }] = await Promise.all([
    import('../snapshot/archive-stream.js'),
    import('../snapshot/archive-sniff.js'),
  ]);
  const start = await head(file);
  if (start.length === 0) {
    throw new UsageError('it is empty', {
      hint: 'give a tar archive of the context (tar -c -C DIR . | tsbuild build -), or a Dockerfile (tsbuild build - < Dockerfile)',
    });
  }
  await mkdir(into);
  const compression = compressionOf(start);
  if (compression !== 'none' || isTarHeader(start.subarray(0, 512))) {
    if (compression !== 'none' && !(await isTarArchive(file))) {
      throw new UserError(`it is ${compression}-compressed but holds no tar archive`, {
        hint: 'a context archive is a tar of the context directory, compressed or not: tar -czf ctx.tar.gz -C DIR .',
      });
    }
    const { extractArchive } = await import('../snapshot/extract-archive.js');
    await extractArchive(file, into, { label: source.name, what: 'build context' });
    return dockerfileIn(into, source, opts);
  }
  if (start.includes(0)) {
    throw new UserError('it is neither a tar archive nor a Dockerfile', {
      hint: 'give a tar archive of the context (plain, gzip, bzip2 or xz), or a Dockerfile as text',
    });
  }
  // A URL's text is the Dockerfile whatever -f names, as BuildKit's dockerui takes the downloaded
  // file's own name for it (testHTTPDockerfile: "any name should work"); on stdin, -f names another
  if (opts.file === '-' || (opts.file !== undefined && source.url === undefined)) {
    throw new UsageError(`ambiguous Dockerfile: ${source.name} is a Dockerfile and -f names another`, {
      hint: 'drop -f, or give a tar archive of the context with the Dockerfile inside it',
    });
  }
  return {
    dir: into,
    dockerfileSource: await readFile(file, 'utf8'),
    fetched: { ...source, dockerfileName: 'Dockerfile' },
  };
}

/**
 * The Dockerfile of a fetched context: `-f -` reads stdin, an absolute `-f` is this machine's
 * file, a relative one (default `Dockerfile`) is inside the context and may not leave it.
 */
async function dockerfileIn(
  dir: string,
  source: { name: string; key: string; url?: string },
  opts: ContextOptions,
): Promise<Omit<BuildContext, 'cleanup'>> {
  if (opts.file === '-') {
    return {
      dir,
      dockerfileSource: await readText(opts.stdin),
      fetched: { ...source, dockerfileName: 'Dockerfile (stdin)' },
    };
  }
  if (opts.file !== undefined && isAbsolute(opts.file)) {
    if (!(await exists(opts.file))) throw new UserError(`no Dockerfile at ${opts.file}`);
    return { dir, dockerfilePath: opts.file, fetched: { ...source, dockerfileName: opts.file } };
  }
  const rel = posix.normalize(opts.file ?? 'Dockerfile');
  if (rel === '..' || rel.startsWith('../')) {
    throw new UsageError(`-f ${opts.file} leaves the context`, {
      hint: 'with a git or URL context, -f names a file inside it (or an absolute path on this machine)',
    });
  }
  const path = opts.file === undefined ? await defaultDockerfile(dir) : join(dir, rel);
  if (!(await exists(path))) {
    throw new UserError(`no Dockerfile ${rel} in it`, {
      hint: 'name the Dockerfile with -f PATH inside the context (after any :subdir of a git URL), or -f - to read it from stdin',
    });
  }
  return { dir, dockerfilePath: path, fetched: { ...source, dockerfileName: rel } };
}
