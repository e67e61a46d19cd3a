import { spawn, spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { userInfo } from 'node:os';
import { join } from 'node:path';
import { EnvironmentError, UsageError } from '../errors.js';
import { findOnPath } from '../process/find-on-path.js';
import { missingTool } from '../process/missing-tool.js';
import { parseSubordinateIds, readSubordinateIds, type SubordinateRange } from '../process/subordinate-ids.js';
import { hasSysAdmin, parseHasSysAdmin } from '../process/sys-admin.js';
import { inUserNamespace } from '../process/user-namespace.js';
import { defaultStateRoot, stateDirId } from '../store/state-paths.js';

export const ISOLATION_MODES = ['runc', 'rootless', 'chroot'] as const;
export type IsolationMode = (typeof ISOLATION_MODES)[number];

/** What rootless mode maps: the user to root, its subordinate ranges to 1…count. */
export interface RootlessIds {
  uid: number;
  gid: number;
  subuid: SubordinateRange;
  subgid: SubordinateRange;
}

/**
 * Whether this process may mount (and so run runc): CAP_SYS_ADMIN in its effective set (root on a
 * normal host has it, root in a container started without --privileged does not).
 */
export function canMount(status?: string): boolean {
  return status === undefined ? hasSysAdmin() : parseHasSysAdmin(status);
}

/**
 * The isolation a build runs with: `--isolation` if given, else runc as root that may mount (or
 * root of a user namespace, where tsbuild already runs rootless), chroot as root that may not (a
 * container with docker's default profile), and for any other user rootless where it can work,
 * else chroot.
 */
export function chooseIsolation(
  flag: string | undefined,
  euid: number | undefined,
  mayMount: () => boolean = () => canMount(),
  rootlessWorks: () => boolean = () => true,
): IsolationMode {
  if (flag !== undefined) {
    if (!(ISOLATION_MODES as readonly string[]).includes(flag))
      throw new UsageError(`--isolation ${flag} is not an isolation mode`, {
        hint: `one of: ${ISOLATION_MODES.join(', ')}`,
      });
    return flag as IsolationMode;
  }
  if (euid !== undefined && euid !== 0) return inUserNamespace() || rootlessWorks() ? 'rootless' : 'chroot';
  return inUserNamespace() || mayMount() ? 'runc' : 'chroot';
}

/**
 * The line that says a build runs in isolation chroot, and what that does not isolate: the first of
 * its output. `asUser`: tsbuild is not root, so steps run under proot with faked root.
 */
export function chrootBanner(chosen: boolean, asUser = false): string {
  const how = asUser
    ? "under proot (ptrace) in a copy of their image as this user, root faked (a step's chown changes nothing)"
    : 'chrooted in a copy of their image';
  return `isolation chroot${chosen ? ' (tsbuild may not mount or make namespaces here)' : ''}: RUN steps run ${how}, sharing this container's pid, network, ipc and uts namespaces and cgroup, with no /proc or /sys, no seccomp profile of their own and no pids or memory limit; the container is the boundary`;
}

/**
 * Whether rootless mode can work for this user, cheaply: subordinate ids for it in both files, and
 * where a seccomp filter is on this process (docker's default profile refuses unshare) a user
 * namespace that `unshare -U true` could make. Without a filter it is assumed to work, as before.
 */
export function rootlessPossible(
  uid: number,
  user = userName(uid),
  read: (path: string) => string = (path) => readIfThere(path),
  tryUnshare: () => boolean = () => spawnSync('unshare', ['-U', 'true'], { stdio: 'ignore' }).status === 0,
): boolean {
  if (!parseSubordinateIds(read('/etc/subuid'), user, uid) || !parseSubordinateIds(read('/etc/subgid'), user, uid))
    return false;
  const seccomp = /^Seccomp:\s*(\d+)/m.exec(read('/proc/self/status'))?.[1];
  return seccomp === undefined || seccomp === '0' || tryUnshare();
}

function readIfThere(path: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return '';
  }
}

function userName(uid: number): string {
  try {
    return userInfo().username;
  } catch {
    return String(uid); // no passwd entry (a pod's arbitrary uid): newuidmap takes the number too
  }
}

/** The ids rootless mode maps for this user, or an EnvironmentError saying what the machine lacks. */
export async function rootlessIds(uid: number, gid: number, user = userInfo().username): Promise<RootlessIds> {
  const [subuid, subgid] = await Promise.all([
    readSubordinateIds('/etc/subuid', user, uid),
    readSubordinateIds('/etc/subgid', user, uid),
  ]);
  if (!subuid || !subgid)
    throw new EnvironmentError(
      `rootless mode needs subordinate ids for ${user} (uid ${uid}) in /etc/subuid and /etc/subgid, and ${!subuid ? '/etc/subuid' : '/etc/subgid'} has none`,
      {
        hint: `as root: usermod --add-subuids 100000-165535 --add-subgids 100000-165535 ${user}; or run tsbuild as root`,
      },
    );
  return { uid, gid, subuid, subgid };
}

/**
 * The line that says a build runs rootless, and what holds there: the first of its output.
 * `pidsLimit`: TSBUILD_PIDS_LIMIT's value (-1: none).
 */
export function rootlessBanner(ids: RootlessIds, pidsLimit: number): string {
  const last = (r: SubordinateRange) => r.count;
  const pids =
    pidsLimit > 0 ? `a pids limit of ${pidsLimit} per user (RLIMIT_NPROC)` : 'no pids limit (TSBUILD_PIDS_LIMIT=max)';
  return `rootless: user namespace maps uid ${ids.uid} to 0 and ${ids.subuid.start}…${ids.subuid.start + ids.subuid.count - 1} to 1…${last(ids.subuid)}; RUN steps have seccomp and ${pids}, no cgroup: no memory or CPU limits`;
}

/**
 * The util-linux unshare command that starts `argv` as root of a new user and mount namespace,
 * the user's subordinate ids mapped after it (unshare ≥ 2.38 writes the maps with
 * newuidmap/newgidmap, as buildah's and rootlesskit's re-exec do; its own -r maps one id only).
 */
export function unshareArgs(ids: RootlessIds, argv: string[]): string[] {
  return [
    '--user',
    '--map-root-user',
    `--map-users=${ids.subuid.start},1,${ids.subuid.count}`,
    `--map-groups=${ids.subgid.start},1,${ids.subgid.count}`,
    '--mount',
    '--propagation',
    'private',
    '--',
    // the namespace's tsbuild is this process's child: killed outright (SIGKILL, which cannot be
    // passed on), it would build on unseen; SIGTERM when its parent dies cancels it cleanly
    'setpriv',
    '--pdeathsig',
    'TERM',
    '--',
    ...argv,
  ];
}

/**
 * Where a rootless build keeps its containers' state: `$XDG_RUNTIME_DIR/tsbuild/<state dir id>`,
 * the user's own tmpfs, as /run/tsbuild is root's. Without XDG_RUNTIME_DIR, the default
 * (`<state dir>/run`, /run not being the user's to write).
 */
export function rootlessRuntimeDir(stateRoot: string, env: NodeJS.ProcessEnv): string | undefined {
  if (env.TSBUILD_RUNTIME_DIR || !env.XDG_RUNTIME_DIR) return undefined;
  return join(env.XDG_RUNTIME_DIR, 'tsbuild', stateDirId(stateRoot));
}

/**
 * Runs this very command again inside the user namespace and ends as it ends: its exit code,
 * or the signal that killed it. Signals sent to this process are passed on.
 */
export async function reexecInUserNamespace(ids: RootlessIds, env: NodeJS.ProcessEnv): Promise<void> {
  for (const tool of ['unshare', 'setpriv', 'newuidmap', 'newgidmap'])
    if (!findOnPath(tool, env)) throw missingTool(tool, { why: 'rootless mode maps the user namespace with it' });
  const argv = [process.execPath, ...process.execArgv, ...process.argv.slice(1)];
  const child = spawn('unshare', unshareArgs(ids, argv), { stdio: 'inherit', env });
  const forward = (sig: NodeJS.Signals) => child.kill(sig);
  process.on('SIGINT', forward);
  process.on('SIGTERM', forward);
  const [code, signal] = await new Promise<[number | null, NodeJS.Signals | null]>((resolve, reject) => {
    child.on('error', reject);
    child.on('exit', (c, s) => resolve([c, s]));
  });
  process.off('SIGINT', forward);
  process.off('SIGTERM', forward);
  if (signal) {
    process.kill(process.pid, signal);
    return;
  }
  process.exitCode = code ?? 1;
}

/**
 * The commands besides build that change a state dir's files (or run a container): a rootless
 * user's state holds files its subordinate ids own, which only root of its namespace may remove.
 */
const STATE_COMMANDS = new Set(['prune', 'rmi', 'tag', 'load', 'pull', 'push', 'save', 'run']);

/**
 * For a user with subordinate ids, runs such a command again in the user namespace (true: it has
 * run). A user without them goes on as before: reading commands work anyway.
 */
export async function reexecStateCommand(argv: string[], env: NodeJS.ProcessEnv = process.env): Promise<boolean> {
  const euid = process.geteuid?.();
  if (euid === undefined || euid === 0 || inUserNamespace()) return false;
  const command = argv.slice(2).find((a) => !a.startsWith('-'));
  if (command === undefined || !STATE_COMMANDS.has(command)) return false;
  const ids = await rootlessIds(euid, process.getegid!()).catch(() => undefined);
  if (!ids) return false;
  const childEnv = { ...env };
  const runtimeDir = rootlessRuntimeDir(defaultStateRoot(env), env);
  if (runtimeDir) childEnv.TSBUILD_RUNTIME_DIR = runtimeDir;
  await reexecInUserNamespace(ids, childEnv);
  return true;
}

export { inUserNamespace };
