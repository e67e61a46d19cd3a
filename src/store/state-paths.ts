import { createHash } from 'node:crypto';
import { accessSync, constants, realpathSync } from 'node:fs';
import { homedir } from 'node:os';
import { join, resolve } from 'node:path';
import { ownerToken } from './owner.js';

/** Where tsbuild keeps everything between builds (DESIGN.md: State directory). */
export function defaultStateRoot(env: NodeJS.ProcessEnv = process.env): string {
  // absolute: RUN steps' mounts name it from elsewhere (runc's bundle dir), where a relative path means nothing
  if (env.TSBUILD_ROOT) return resolve(env.TSBUILD_ROOT);
  if (env.XDG_DATA_HOME) return join(env.XDG_DATA_HOME, 'tsbuild');
  return join(homedir(), '.local', 'share', 'tsbuild');
}

/**
 * Where a state dir keeps the state of the containers its builds run (runc's --root, RUN
 * bundles): `/run/tsbuild/<hash of the state dir's path>`, as runc and containerd keep theirs
 * under /run, a tmpfs on most systems. A RUN step made six files and dirs there, and on a state
 * dir's own disk those cost a chain of 30 RUN steps ~8% of its time (measured on ext4). Nothing
 * there outlives a reboot, and nothing needs to. TSBUILD_RUNTIME_DIR overrides it; without a
 * writable /run it is `<state dir>/run`.
 */
export function runtimeRootFor(stateRoot: string, env: NodeJS.ProcessEnv = process.env): string {
  if (env.TSBUILD_RUNTIME_DIR) return resolve(env.TSBUILD_RUNTIME_DIR);
  try {
    accessSync('/run', constants.W_OK);
  } catch {
    return join(stateRoot, 'run');
  }
  return join('/run', 'tsbuild', stateDirId(stateRoot));
}

/** A short name for a state dir, by its real path: one reached through a symlink must find the same containers. */
export function stateDirId(stateRoot: string): string {
  let real = resolve(stateRoot);
  try {
    real = realpathSync(real);
  } catch {
    // not made yet
  }
  return createHash('sha256').update(real).digest('hex').slice(0, 16);
}

/** The fixed layout of the state directory. */
export class StatePaths {
  private runtimeRoot: string | undefined;

  constructor(readonly root: string) {}
  /** A valid OCI image layout: skopeo/umoci read it directly. */
  get content(): string {
    return join(this.root, 'content');
  }
  /** One folder per layer: `<id>/fs` (overlay format) and `<id>/encodings.json` once exported. */
  get snapshots(): string {
    return join(this.root, 'snapshots');
  }
  /** Cache records: `<key>.json`. */
  get cacheRecords(): string {
    return join(this.root, 'cache');
  }
  /**
   * This process's scratch space for in-flight work (mount points, runc bundles, scratch dirs):
   * `tmp/<owner>/`, so a killed build's leftovers are told apart from a running build's and swept.
   */
  get tmp(): string {
    return join(this.root, 'tmp', ownerToken());
  }
  /** Every build's scratch dirs. */
  get tmpRoot(): string {
    return join(this.root, 'tmp');
  }
  /** This state dir's container state, outside it (see runtimeRootFor). */
  get runtime(): string {
    return (this.runtimeRoot ??= runtimeRootFor(this.root));
  }
  /**
   * `<runtime>/state-dir`: the state dir's real path, so a build of another state dir can take
   * this one's lock before it sweeps a runtime dir killed builds left (sweepDeadRuntimeDirs).
   */
  get runtimeMarker(): string {
    return join(this.runtime, 'state-dir');
  }
  /** runc's state root. */
  get runc(): string {
    return join(this.runtime, 'runc');
  }
  /** This process's RUN bundles: `<runtime>/tmp/<owner>/`, swept like `tmp` when the owner is gone. */
  get runtimeTmp(): string {
    return join(this.runtimeTmpRoot, ownerToken());
  }
  /** Every build's bundle dirs. */
  get runtimeTmpRoot(): string {
    return join(this.runtime, 'tmp');
  }
  /**
   * Every build's secrets dirs in /dev/shm, used when the runtime dir is not memory-backed
   * (see secrets-dir.ts): `/dev/shm/tsbuild-<state dir id>/<owner>/`.
   */
  get shmTmpRoot(): string {
    return join('/dev/shm', `tsbuild-${stateDirId(this.root)}`);
  }
  get shmTmp(): string {
    return join(this.shmTmpRoot, ownerToken());
  }
  /** Build leases and the GC lock (see state-lock.ts). */
  get locks(): string {
    return join(this.root, 'locks');
  }
  /** RUN --mount=type=cache directories. */
  get cacheMounts(): string {
    return join(this.root, 'cache-mounts');
  }
}
