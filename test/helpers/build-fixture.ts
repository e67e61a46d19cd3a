/**
 * Integration-test rig: runs the real CLI (bin/tsbuild, built into dist/) on an inline
 * Dockerfile and files in a temp context, with a private state dir, and reads the resulting
 * image back with tools that are not ours (skopeo, umoci).
 *
 *   const b = await buildFixture({ Dockerfile: 'FROM ...\nRUN ...', 'a.txt': 'hi' });
 *   expect(b.exitCode).toBe(0);
 *   const img = await b.unpack();         // umoci unpack of the OCI archive
 *   await img.stat('/app/a.txt');
 */
import { execFile, spawn } from 'node:child_process';
import { chmod, lstat, mkdir, mkdtemp, readFile, readlink, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { SUBCOMMANDS } from '../../src/cli/subcommands.js';

const run = promisify(execFile);
export const REPO_ROOT = resolve(dirname(new URL(import.meta.url).pathname), '../..');
export const TSBUILD = join(REPO_ROOT, 'bin/tsbuild');
export const BASE_LAYOUT = join(REPO_ROOT, 'fixtures/base/busybox');
/** FROM line for tests: the busybox fixture layout, by absolute path. */
export const FROM_BASE = `oci-layout://${BASE_LAYOUT}`;

export interface CliResult {
  exitCode: number;
  stdout: string;
  stderr: string;
}

/**
 * Builds read the fixture base layouts (FROM_BASE) from outside their temp contexts, which the
 * CLI allows only when granted, so every build run here is granted fixtures/base.
 */
export const ALLOW_FIXTURE_BASES = ['--allow', `fs.read=${join(REPO_ROOT, 'fixtures/base')}`];

/**
 * What every CLI a test starts runs with (vitest.config.ts puts it in the workers' env too, for
 * the tests that spawn bin/tsbuild themselves): daemonless, so that no build depends on a warm
 * server left by an earlier one and no server outlives the tests. Tests of the server override it.
 */
export const DAEMONLESS_ENV = { TSBUILD_SERVER: '0' } as const;

/**
 * `opts.wrapper`: a command that runs the CLI (e.g. setpriv with its options), given before it;
 * `opts.launcher`: another copy of bin/tsbuild to run.
 */
export function runCli(
  args: string[],
  opts: { cwd?: string; env?: NodeJS.ProcessEnv; input?: string | Buffer; wrapper?: string[]; launcher?: string } = {},
): Promise<CliResult> {
  const isBuild = !SUBCOMMANDS.has(args[0] ?? '') && !args.includes('--help') && !args.includes('--version');
  // `build` takes the build's flags after its name (the root's flags come before a subcommand)
  const cliArgs = !isBuild
    ? args
    : args[0] === 'build'
      ? ['build', ...ALLOW_FIXTURE_BASES, ...args.slice(1)]
      : [...ALLOW_FIXTURE_BASES, ...args];
  const launcher = opts.launcher ?? TSBUILD;
  const [cmd, ...cmdArgs] = opts.wrapper?.length ? [...opts.wrapper, launcher, ...cliArgs] : [launcher, ...cliArgs];
  return new Promise((resolvePromise, reject) => {
    const child = spawn(cmd!, cmdArgs, {
      cwd: opts.cwd ?? REPO_ROOT,
      env: { ...process.env, ...DAEMONLESS_ENV, ...opts.env },
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
    child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
    child.on('error', reject);
    child.on('close', (code) => resolvePromise({ exitCode: code ?? -1, stdout, stderr }));
    child.stdin.end(opts.input ?? '');
  });
}

export type FileSpec = string | { content: string; mode?: number } | { symlink: string };

export async function writeContext(dir: string, files: Record<string, FileSpec>): Promise<void> {
  for (const [name, spec] of Object.entries(files)) {
    const path = join(dir, name);
    await mkdir(dirname(path), { recursive: true });
    if (typeof spec === 'string') await writeFile(path, spec);
    else if ('symlink' in spec) await symlink(spec.symlink, path);
    else {
      await writeFile(path, spec.content);
      if (spec.mode !== undefined) await chmod(path, spec.mode);
    }
  }
}

export interface UnpackedImage {
  rootfs: string;
  config: {
    config: Record<string, unknown>;
    history?: { created_by?: string; empty_layer?: boolean }[];
    rootfs: { diff_ids: string[] };
  } & Record<string, unknown>;
  /** lstat of a path inside the image. */
  stat(
    path: string,
  ): Promise<{ mode: number; uid: number; gid: number; type: 'file' | 'dir' | 'symlink' | 'other'; size: number }>;
  read(path: string): Promise<string>;
  readlink(path: string): Promise<string>;
  exists(path: string): Promise<boolean>;
  /** The runtime bundle umoci made (config.json from the image config). */
  bundle: string;
}

export interface Fixture {
  dir: string;
  context: string;
  stateRoot: string;
  archive: string;
  build(
    extraArgs?: string[],
    opts?: { env?: NodeJS.ProcessEnv; input?: string; wrapper?: string[]; launcher?: string },
  ): Promise<CliResult>;
  unpack(archive?: string): Promise<UnpackedImage>;
  cleanup(): Promise<void>;
}

/** A temp context holding `files`; `build()` runs tsbuild on it writing an OCI archive. */
export async function makeFixture(files: Record<string, FileSpec>): Promise<Fixture> {
  const dir = await mkdtemp(join(tmpdir(), 'tsbuild-it-'));
  const context = join(dir, 'context');
  const stateRoot = join(dir, 'state');
  const archive = join(dir, 'image.tar');
  await mkdir(context, { recursive: true });
  await writeContext(context, files);
  let unpacks = 0;
  return {
    dir,
    context,
    stateRoot,
    archive,
    build: (extraArgs = [], opts = {}) =>
      runCli(['--progress=plain', '-t', 'fixture:latest', '-o', `type=oci,dest=${archive}`, ...extraArgs, context], {
        env: { TSBUILD_ROOT: stateRoot, ...opts.env },
        ...(opts.input !== undefined ? { input: opts.input } : {}),
        ...(opts.wrapper ? { wrapper: opts.wrapper } : {}),
        ...(opts.launcher ? { launcher: opts.launcher } : {}),
      }),
    unpack: async (which = archive) => unpackArchive(which, join(dir, `unpacked-${unpacks++}`)),
    cleanup: () => rm(dir, { recursive: true, force: true }),
  };
}

/** Untars an OCI archive and lets umoci unpack its (single) image into a runtime bundle. */
export async function unpackArchive(archive: string, into: string): Promise<UnpackedImage> {
  const layout = join(into, 'layout');
  const bundle = join(into, 'bundle');
  await mkdir(layout, { recursive: true });
  await run('tar', ['-xf', archive, '-C', layout]);
  const index = JSON.parse(await readFile(join(layout, 'index.json'), 'utf8')) as {
    manifests: { annotations?: Record<string, string> }[];
  };
  const tag = index.manifests[0]?.annotations?.['org.opencontainers.image.ref.name'];
  if (!tag) throw new Error('archive index has no ref.name annotation for umoci');
  await run('umoci', ['unpack', '--image', `${layout}:${tag}`, bundle]);
  const rootfs = join(bundle, 'rootfs');
  const { stdout } = await run('skopeo', ['inspect', '--config', '--raw', `oci-archive:${archive}`]);
  const config = JSON.parse(stdout) as UnpackedImage['config'];
  const p = (path: string): string => join(rootfs, path);
  return {
    rootfs,
    bundle,
    config,
    stat: async (path) => {
      const st = await lstat(p(path));
      return {
        mode: st.mode & 0o7777,
        uid: st.uid,
        gid: st.gid,
        size: st.size,
        type: st.isFile() ? 'file' : st.isDirectory() ? 'dir' : st.isSymbolicLink() ? 'symlink' : 'other',
      };
    },
    read: (path) => readFile(p(path), 'utf8'),
    readlink: (path) => readlink(p(path)),
    exists: async (path) =>
      lstat(p(path)).then(
        () => true,
        () => false,
      ),
  };
}

/** Runs an unpacked image's own entrypoint/cmd/user/workdir/env under runc; returns its output. */
export async function runBundle(bundle: string, args?: string[]): Promise<{ exitCode: number; output: string }> {
  const configPath = join(bundle, 'config.json');
  const spec = JSON.parse(await readFile(configPath, 'utf8')) as { process: { terminal: boolean; args: string[] } };
  spec.process.terminal = false;
  if (args) spec.process.args = args;
  await writeFile(configPath, JSON.stringify(spec));
  return new Promise((resolvePromise, reject) => {
    const child = spawn('runc', ['run', '--bundle', bundle, `tsbuild-it-${process.pid}-${Date.now()}`], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    child.stdout.on('data', (c: Buffer) => (output += c.toString()));
    child.stderr.on('data', (c: Buffer) => (output += c.toString()));
    child.on('error', reject);
    child.on('close', (code) => resolvePromise({ exitCode: code ?? -1, output }));
  });
}
