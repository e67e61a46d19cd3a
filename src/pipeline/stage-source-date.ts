/**
 * The date of a SOURCE_DATE_EPOCH stage's one remote source (BuildKit's dockerfile2llb/epoch.go): a git
 * repository's commit time at the ref, or an HTTP(S) file's Last-Modified (none: the newest entry of the
 * archive it is). Read while the Dockerfile
 * converts, since the value reaches the steps as a build arg.
 */
import { execFile } from 'node:child_process';
import { createWriteStream } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import tarStream from 'tar-stream';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { UserError } from '../errors.js';
import { checkoutGit, resolveGitRef } from '../sources/git-checkout.js';
import { parseGitRef } from '../sources/git-ref.js';
import { redactUrl } from '../sources/http-download.js';
import { isTarArchive } from '../snapshot/archive-sniff.js';
import { openArchive } from '../snapshot/archive-stream.js';

const run = promisify(execFile);

export async function stageSourceDate(source: string, tmpDir: string, signal?: AbortSignal): Promise<number> {
  const git = parseGitRef(source);
  if (git) {
    const resolved = await resolveGitRef(git, signal);
    const dir = await mkdtemp(join(tmpDir, 'epoch-git-'));
    try {
      await checkoutGit(git.remote, resolved, dir, {
        keepGitDir: true,
        submodules: false,
        ...(signal ? { signal } : {}),
      });
      const { stdout } = await run('git', ['-C', dir, 'log', '-1', '--format=%ct', resolved.commit], {
        ...(signal ? { signal } : {}),
      });
      return Number(stdout.trim());
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  }
  const res = await fetch(source, signal ? { signal } : {}).catch((err: unknown) => {
    throw new UserError(`SOURCE_DATE_EPOCH: cannot reach ${redactUrl(source)}: ${(err as Error).message}`);
  });
  if (!res.ok || !res.body) throw new UserError(`SOURCE_DATE_EPOCH: ${redactUrl(source)} answered HTTP ${res.status}`);
  const modified = res.headers.get('last-modified');
  const ms = modified ? Date.parse(modified) : Number.NaN;
  if (!Number.isNaN(ms)) {
    await res.body.cancel().catch(() => {});
    return Math.floor(ms / 1000);
  }
  // no Last-Modified: an archive's newest entry gives the date, as BuildKit's does
  const dir = await mkdtemp(join(tmpDir, 'epoch-http-'));
  try {
    const file = join(dir, 'download');
    await pipeline(Readable.fromWeb(res.body as import('node:stream/web').ReadableStream), createWriteStream(file));
    const newest = (await isTarArchive(file)) ? await newestEntry(file) : undefined;
    if (newest === undefined)
      throw new UserError(`SOURCE_DATE_EPOCH: ${redactUrl(source)} gives no Last-Modified date and is not an archive`, {
        hint: 'give SOURCE_DATE_EPOCH as a number of seconds',
      });
    return newest;
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/** The newest modification time (seconds) of the entries of the tar archive at `path`. */
async function newestEntry(path: string): Promise<number | undefined> {
  const extract = tarStream.extract();
  let newest: number | undefined;
  extract.on('entry', (header, stream, next) => {
    const t = header.mtime ? Math.floor(header.mtime.getTime() / 1000) : undefined;
    if (t !== undefined && (newest === undefined || t > newest)) newest = t;
    stream.on('end', next);
    stream.resume();
  });
  await pipeline(await openArchive(path), extract);
  return newest;
}
