import { constants } from 'node:fs';
import { lstat, mkdir, open, readdir, readFile, rm } from 'node:fs/promises';
import { dirname, join, posix } from 'node:path';
import { EnvironmentError, UserError } from '../errors.js';
import { findOnPath } from '../process/find-on-path.js';
import { missingTool } from '../process/missing-tool.js';
import { runTool, runToolChecked } from '../process/run-tool.js';
import { resolveInRoot } from '../store/resolve-in-root.js';
import { mountedRoot } from './container-root.js';
import { runStepProcess } from './step-process.js';
import { findMissingMountPoints, removeMountStubs } from './mount-stubs.js';
import type { RunRequest, RunResult } from './run-container.js';
import { SANDBOX_HOSTNAME } from './run-container.js';
import { DEFAULT_CAPS, SPEC_MOUNT_POINTS } from './runtime-spec.js';
import { resolveUser } from './user.js';

/** What a chroot step needs that a runc step does not: the root is a plain tree it may write into. */
export type ChrootRequest = Omit<RunRequest, 'root' | 'bundleParent' | 'runcRoot' | 'attach' | 'mounts'> & {
  tree: string;
  /**
   * RUN --mount mounts as runc would get them: here each source is copied in before the step and
   * the target left out of the layer; `writeBack` targets (cache mounts) are copied back after.
   */
  mounts?: import('./runtime-spec.js').OciMount[];
  writeBack?: string[];
};

export interface ChrootResult extends RunResult {
  /** Paths (relative to the tree) whose writes never reach a layer in the other modes: the diff skips them. */
  excluded: string[];
  /** The image's ids the step ran as (its USER): the owner of what it made. */
  user: { uid: number; gid: number };
}

/**
 * The device nodes runc gives a container (major, minor), made in the tree's /dev. Only these:
 * docker's device cgroup lets a container open them, and nothing else is needed by a build.
 */
const DEVICES: [string, number, number][] = [
  ['null', 1, 3],
  ['zero', 1, 5],
  ['full', 1, 7],
  ['random', 1, 8],
  ['urandom', 1, 9],
  ['tty', 5, 0],
];

/**
 * What runc does for a process, minus every namespace: setpriv (util-linux) sets the image's gid
 * and groups while still root, then perl (perl-base is in every Debian system, and coreutils'
 * chroot cannot set a working dir other than /) makes chroot(2), enters the working dir, takes the
 * uid (dropping root's capabilities with it) and the umask, and execs the command.
 */
const ENTER = [
  'use POSIX ();',
  'my ($root, $cwd, $uid) = splice(@ARGV, 0, 3);',
  'chroot($root) or die "chroot $root: $!\\n";',
  'chdir($cwd) or die "chdir $cwd: $!\\n";',
  'POSIX::setuid($uid) or die "setuid $uid: $!\\n";',
  'umask(022);',
  'exec { $ARGV[0] } @ARGV or die "exec $ARGV[0]: $!\\n";',
].join(' ');

/**
 * Runs one RUN process chrooted into `tree` (isolation chroot: tsbuild is root without the right to
 * mount or make namespaces). The process shares tsbuild's pid, network, ipc and uts namespaces and
 * its cgroup; /proc and /sys are empty dirs. Settings it cannot honour are refused, not ignored.
 */
export async function runChroot(req: ChrootRequest): Promise<ChrootResult> {
  refuseUnsupported(req);
  if (process.geteuid?.() !== 0) return runProot(req);
  const tools = { setpriv: findOnPath('setpriv', process.env), perl: findOnPath('perl', process.env) };
  for (const [tool, path] of Object.entries(tools))
    if (!path) throw missingTool(tool, { why: 'isolation chroot enters each step with it' });
  const tree = req.tree;
  const user = await resolveUser(mountedRoot(tree), req.user, `USER ${req.user}`);
  return withStepFiles(req, async (excluded) => {
    // Docker's default capability set bounds a root step, as runc's spec does (RUN
    // --security=insecure: all of tsbuild's); a non-root USER loses them all at setuid
    const bounding =
      req.security === 'insecure'
        ? []
        : [`--bounding-set=-all,${DEFAULT_CAPS.map((c) => `+${c.slice(4).toLowerCase()}`).join(',')}`];
    const argv = [
      ...bounding,
      `--regid=${user.gid}`,
      user.additionalGids.length ? `--groups=${user.additionalGids.join(',')}` : '--clear-groups',
      '--',
      tools.perl!,
      '-e',
      ENTER,
      tree,
      req.cwd,
      String(user.uid),
      ...req.args,
    ];
    return {
      ...(await spawnChrooted(req, tools.setpriv!, argv)),
      excluded,
      user: { uid: user.uid, gid: user.gid },
    };
  });
}

/**
 * Puts in the tree what a step gets besides its image (mount contents, /dev nodes, /etc/hosts,
 * resolv.conf, the working dir), runs `fn` with the paths its layer leaves out, and takes away
 * again what does not belong in the layer.
 */
async function withStepFiles(
  req: ChrootRequest,
  fn: (excluded: string[]) => Promise<ChrootResult>,
): Promise<ChrootResult> {
  const tree = req.tree;
  const root = mountedRoot(tree);
  const mounts = req.mounts ?? [];
  const stubs = await findMissingMountPoints(root, [...SPEC_MOUNT_POINTS, ...mounts.map((m) => m.destination)]);
  for (const m of mounts) await copyMountIn(tree, m);
  for (const p of ['/proc', '/sys', '/dev']) await mkdirPlain(tree, p);
  const made = await makeNodes(tree);
  const hostname = req.hostname ?? SANDBOX_HOSTNAME;
  await writePlain(tree, '/etc/hosts', hostsFile(hostname, req.extraHosts));
  await writePlain(tree, '/etc/resolv.conf', await readHost('/etc/resolv.conf'));
  if (req.files?.length) {
    await mkdirPlain(tree, '/dev/pipes');
    for (const f of req.files) await writePlain(tree, `/dev/pipes/${posix.basename(f.path)}`, f.content, f.mode);
  }
  // runc makes a missing working dir; it lands in the layer there too
  const cwd = await resolveInRoot(tree, req.cwd);
  await mkdir(cwd, { recursive: true, mode: 0o755 });
  try {
    const excluded = [...SPEC_MOUNT_POINTS, ...mounts.map((m) => m.destination)].map((p) =>
      posix.normalize(p).slice(1),
    );
    return await fn(excluded);
  } finally {
    for (const m of mounts) {
      if (req.writeBack?.includes(m.destination)) await copyMountBack(tree, m);
      await rm(join(tree, m.destination), { recursive: true, force: true });
    }
    // what was made for the run goes, so stub parents are left as runc leaves them
    for (const p of made) await rm(join(tree, p), { force: true });
    for (const p of stubs) if (p === '/etc/hosts' || p === '/etc/resolv.conf') await rm(join(tree, p), { force: true });
    await rm(join(tree, 'dev/pipes'), { recursive: true, force: true });
    await removeMountStubs(tree, stubs);
  }
}

/**
 * A mount's content put where the step sees it: a tmpfs as an empty dir, a bind as a copy of its
 * source (its target left out of the layer, as a mount's is; a read-only one can be written here,
 * the writes going nowhere). What the image had there is hidden, as a mount hides it.
 */
async function copyMountIn(tree: string, m: import('./runtime-spec.js').OciMount): Promise<void> {
  if (!(await plainParents(tree, m.destination)))
    throw new UserError(
      `isolation chroot cannot put RUN --mount target ${m.destination} in place: a symlink is on the way to it`,
      {
        hint: 'mount it at a path without symlinks, or build with --isolation runc',
      },
    );
  const target = join(tree, m.destination);
  await rm(target, { recursive: true, force: true });
  await mkdir(dirname(target), { recursive: true, mode: 0o755 });
  if (m.type === 'tmpfs') {
    await mkdir(target, { mode: 0o1777 });
    return;
  }
  const st = await lstat(m.source);
  if (st.isSocket())
    throw new UserError(
      `isolation chroot cannot forward an ssh agent socket (RUN --mount=type=ssh at ${m.destination})`,
      {
        hint: 'fetch with credentials in a secret mount instead, or build with --isolation runc',
      },
    );
  await runToolChecked('cp', ['-a', '--no-target-directory', '--', m.source, target]);
}

/** A cache mount's content after the step, made the cache's: what the step removed goes from the cache too. */
async function copyMountBack(tree: string, m: import('./runtime-spec.js').OciMount): Promise<void> {
  const from = join(tree, m.destination);
  const st = await lstat(from).catch(() => undefined);
  if (!st?.isDirectory()) return;
  for (const name of await readdir(m.source)) await rm(join(m.source, name), { recursive: true, force: true });
  await runToolChecked('cp', ['-a', '--no-target-directory', '--', `${from}/.`, `${m.source}/.`]);
}

/**
 * A step for a user other than root, who may not chroot(2): proot (ptrace) shows it `tree` as its
 * root, and itself as root (`-0`, chown and chgrp faked: they succeed and change nothing) or as
 * its USER's ids. Files it makes are the user's on disk; the caller records their image owner.
 * Device nodes cannot be made: the host's are bound in.
 */
async function runProot(req: ChrootRequest): Promise<ChrootResult> {
  const proot = findOnPath('proot', process.env);
  if (!proot) throw missingTool('proot', { why: 'isolation chroot runs steps with it for a user other than root' });
  const tree = req.tree;
  const user = await resolveUser(mountedRoot(tree), req.user, `USER ${req.user}`);
  return withStepFiles(req, async (excluded) => {
    const binds: string[] = [];
    for (const [name] of DEVICES)
      if (!(await lstat(join(tree, 'dev', name)).catch(() => undefined))) binds.push('-b', `/dev/${name}`);
    const ids = user.uid === 0 && user.gid === 0 ? ['-0'] : ['-i', `${user.uid}:${user.gid}`];
    const argv = ['-c', 'umask 022; exec "$@"', 'sh', proot, '-r', tree, ...ids, '-w', req.cwd, ...binds, ...req.args];
    return { ...(await spawnChrooted(req, 'sh', argv)), excluded, user: { uid: user.uid, gid: user.gid } };
  });
}

function refuseUnsupported(req: ChrootRequest): void {
  const refuse = (what: string, hint: string) => {
    throw new UserError(`isolation chroot cannot ${what}`, { hint });
  };
  const stronger = 'build where tsbuild may use namespaces (--isolation runc as root, or rootless)';
  if (req.network === 'none')
    refuse(
      'run a step without network (RUN --network=none, --network none): it has no network namespace',
      `leave out --network none, or ${stronger}`,
    );
  if (req.resources && Object.keys(req.resources).length)
    refuse(
      'limit RUN steps (--memory, --cpus, --cgroup-parent, …): it has no cgroup to set them in',
      `leave out the limits, or ${stronger}`,
    );
  if (req.ulimits?.length) refuse('set --ulimit for RUN steps', `leave out --ulimit, or ${stronger}`);
}

/** True where `rel` and all its parents in the tree are real dirs or absent: never a symlink, which could lead out of it. */
async function plainParents(tree: string, rel: string): Promise<boolean> {
  for (let p = posix.dirname(rel); p !== '/'; p = posix.dirname(p)) {
    const st = await lstat(join(tree, p)).catch(() => undefined);
    if (st && !st.isDirectory()) return false;
  }
  return true;
}

async function mkdirPlain(tree: string, rel: string): Promise<void> {
  if (!(await plainParents(tree, rel))) return;
  const st = await lstat(join(tree, rel)).catch(() => undefined);
  if (!st) await mkdir(join(tree, rel), { recursive: true, mode: 0o755 });
}

/**
 * Makes the device nodes the tree's /dev lacks, with one spawn: the paths made. One that cannot be
 * made (no CAP_MKNOD) is left out; a step that needs it fails as it would without it.
 */
async function makeNodes(tree: string): Promise<string[]> {
  if (!(await plainParents(tree, '/dev/null'))) return [];
  const wanted: string[] = [];
  for (const [name, major, minor] of DEVICES)
    if (!(await lstat(join(tree, 'dev', name)).catch(() => undefined)))
      wanted.push(join(tree, 'dev', name), String(major), String(minor));
  if (!wanted.length) return [];
  await runTool('sh', [
    '-c',
    'while [ $# -gt 0 ]; do mknod -m 666 -- "$1" c "$2" "$3"; shift 3; done',
    'sh',
    ...wanted,
  ]);
  const made: string[] = [];
  for (let i = 0; i < wanted.length; i += 3)
    if (await lstat(wanted[i]!).catch(() => undefined)) made.push(wanted[i]!.slice(tree.length));
  return made;
}

/** Writes a file of the tree in place (a regular file or none, its parents plain dirs); anything else is left alone. */
async function writePlain(tree: string, rel: string, content: string, mode = 0o644): Promise<void> {
  if (!(await plainParents(tree, rel))) return;
  const abs = join(tree, rel);
  const st = await lstat(abs).catch(() => undefined);
  if (st && !st.isFile()) return;
  await mkdir(dirname(abs), { recursive: true, mode: 0o755 });
  const fh = await open(abs, constants.O_WRONLY | constants.O_CREAT | constants.O_TRUNC | constants.O_NOFOLLOW, mode);
  try {
    await fh.writeFile(content);
  } finally {
    await fh.close();
  }
}

async function readHost(path: string): Promise<string> {
  return readFile(path, 'utf8').catch(() => '');
}

function hostsFile(hostname: string, extra: readonly { host: string; ip: string }[] = []): string {
  return (
    `127.0.0.1\tlocalhost ${hostname}\n::1\tlocalhost ip6-localhost ip6-loopback\n` +
    extra.map((h) => `${h.ip}\t${h.host}\n`).join('')
  );
}

async function spawnChrooted(req: ChrootRequest, setpriv: string, argv: string[]): Promise<RunResult> {
  const killGroup = (pid: number | undefined): void => {
    try {
      process.kill(-pid!, 'SIGKILL');
    } catch {
      // already gone
    }
  };
  const step = await runStepProcess(setpriv, argv, {
    // its own process group: cancelling kills everything the step started
    spawn: { env: envOf(req.env), detached: true },
    ...(req.onOutput ? { onOutput: req.onOutput } : {}),
    ...(req.signal ? { signal: req.signal } : {}),
    kill: (child) => killGroup(child.pid),
    startError: (err) =>
      err.code === 'ENOENT'
        ? missingTool('setpriv', { why: 'isolation chroot enters each step with it', cause: err })
        : new EnvironmentError(`could not start a chroot step: ${err.message}`, { cause: err }),
  });
  // what the step left running in its group goes with it, as a container's processes do
  killGroup(step.child.pid);
  return { exitCode: step.code ?? (step.signal ? 128 : 1), outputTail: step.tail.lines() };
}

/** The step's environment as a process env (runc gives exactly the spec's). */
function envOf(env: string[]): NodeJS.ProcessEnv {
  const out: NodeJS.ProcessEnv = {};
  for (const e of env) {
    const i = e.indexOf('=');
    if (i > 0) out[e.slice(0, i)] = e.slice(i + 1);
  }
  return out;
}
