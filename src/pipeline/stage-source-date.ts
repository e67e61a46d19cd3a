/**
 * The date of a SOURCE_DATE_EPOCH stage's one remote source (BuildKit's dockerfile2llb/epoch.go): a git
 * repository's commit time at the ref, or an HTTP(S) file's Last-Modified. Read while the Dockerfile
 * converts, since the value reaches the steps as a build arg.
 */
import { execFile } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { UserError } from '../errors.js';
import { checkoutGit, resolveGitRef } from '../sources/git-checkout.js';
import { parseGitRef } from '../sources/git-ref.js';
import { redactUrl } from '../sources/http-download.js';

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
  const res = await fetch(source, { method: 'HEAD', ...(signal ? { signal } : {}) }).catch((err: unknown) => {
    throw new UserError(`SOURCE_DATE_EPOCH: cannot reach ${redactUrl(source)}: ${(err as Error).message}`);
  });
  const modified = res.ok ? res.headers.get('last-modified') : null;
  const ms = modified ? Date.parse(modified) : Number.NaN;
  if (Number.isNaN(ms))
    throw new UserError(
      `SOURCE_DATE_EPOCH: ${redactUrl(source)} gives no Last-Modified date${res.ok ? '' : ` (HTTP ${res.status})`}`,
      { hint: "the date of an archive's newest file is not read yet: give SOURCE_DATE_EPOCH as a number of seconds" },
    );
  return Math.floor(ms / 1000);
}
