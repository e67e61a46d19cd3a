/**
 * The rig of the ported BuildKit tests of run mounts, behaviours and errors: one temp context per
 * test, built by the real CLI to a local directory (BuildKit's tests mostly export `local`), with
 * a state dir that lives as long as the fixture so a second build can hit the cache.
 */
import { mkdir, readFile, rm } from 'node:fs/promises';
import { afterAll } from 'vitest';
import { join } from 'node:path';
import {
  FROM_BASE,
  makeFixture,
  runCli,
  type CliResult,
  type FileSpec,
  type Fixture,
} from '../helpers/build-fixture.js';

export { FROM_BASE };

/** `busybox` in BuildKit's Dockerfiles is our local busybox layout. */
export function df(text: string): string {
  return `${text.replace(/^(\s*FROM\s+(?:--platform=\S+\s+)?)busybox\b/gim, `$1${FROM_BASE}`).trim()}\n`;
}

export interface LocalBuild extends CliResult {
  out: string;
  read(path: string): Promise<string>;
}

export interface Rig {
  fx: Fixture;
  /** Builds to a fresh local dir (`args` before the context; `files` rewritten first). */
  local(args?: string[], opts?: { env?: NodeJS.ProcessEnv; files?: Record<string, FileSpec> }): Promise<LocalBuild>;
  /** Builds with bare args (no output) and returns the CLI result. */
  cli(args: string[], opts?: { env?: NodeJS.ProcessEnv }): Promise<CliResult>;
  cleanup(): Promise<void>;
}

export async function rig(files: Record<string, FileSpec>): Promise<Rig> {
  const fx = await makeFixture(files);
  let n = 0;
  const cli = (args: string[], opts: { env?: NodeJS.ProcessEnv } = {}): Promise<CliResult> =>
    runCli(['--progress=plain', ...args, fx.context], { env: { TSBUILD_ROOT: fx.stateRoot, ...opts.env } });
  return {
    fx,
    cli,
    async local(args = [], opts = {}) {
      if (opts.files) {
        const { writeContext } = await import('../helpers/build-fixture.js');
        for (const name of Object.keys(opts.files)) await rm(join(fx.context, name), { force: true });
        await writeContext(fx.context, opts.files);
      }
      const out = join(fx.dir, `out-${n++}`);
      await mkdir(out, { recursive: true });
      const r = await cli(['-o', `type=local,dest=${out}`, ...args], opts);
      return { ...r, out, read: (p: string) => readFile(join(out, p), 'utf8') };
    },
    cleanup: () => fx.cleanup(),
  };
}

/**
 * `open(files)` for one test file: each rig it makes is cleaned up after the file's tests. Called at
 * the file's top level, where vitest collects its hooks.
 */
export function rigsForFile(): (files: Record<string, FileSpec>) => Promise<Rig> {
  const rigs: Rig[] = [];
  afterAll(async () => {
    for (const r of rigs) await r.cleanup();
  });
  return async (files) => {
    const r = await rig(files);
    rigs.push(r);
    return r;
  };
}
