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

/**
 * The layout of a runtime dir (runtimeRootFor): this state dir's, and other state dirs' ones that
 * a sweep meets beside it under /run/tsbuild.
 */
export class RuntimePaths {
  constructor(readonly root: string) {}
  /** The state dir's real path (see StatePaths.runtimeMarker). */
  get marker(): string {
    return join(this.root, 'state-dir');
  }
  /** runc's state root. */
  get runc(): string {
    return join(this.root, 'runc');
  }
  /** crun's state root (crun-runner.ts): a container's dir is named as it, with its build's owner token. */
  get crun(): string {
    return join(this.root, 'crun');
  }
  /** Every build's bundle dirs: `tmp/<owner>/`. */
  get tmpRoot(): string {
    return join(this.root, 'tmp');
  }
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
  /** Cache records: `<key[:2]>/<key>.json` (cache-records.ts). */
  get cacheRecords(): string {
    return join(this.root, 'cache');
  }
  /** Step history for miss explanations: one file per context and Dockerfile (step-index.ts). */
  get stepIndexes(): string {
    return join(this.cacheRecords, 'steps');
  }
  /** The file lists behind context selection digests (selection-files.ts). */
  get selectionFiles(): string {
    return join(this.cacheRecords, 'files');
  }
  /** Stat caches, one per context directory (stat-cache.ts). */
  get statCaches(): string {
    return join(this.cacheRecords, 'stat');
  }
  /** The cache size last measured, for the cap check (cap-estimate.ts). */
  get cacheSizeFile(): string {
    return join(this.root, 'cache-size.json');
  }
  /** Marks a layout whose snapshot and record dirs are spread into subdirs (spread-subdirs.ts). */
  get spreadMarker(): string {
    return join(this.root, '.spread');
  }
  /** Base image tag pins: `<sha256 of ref and platform>.json` (registry/tag-pins.ts). */
  get resolvedTags(): string {
    return join(this.root, 'resolved-tags');
  }
  /** Registries each blob was seen in, for cross-repo mounts: `<hex>` (registry/blob-sources.ts). */
  get blobSources(): string {
    return join(this.root, 'blob-sources');
  }
  /** Re-encoded and SOURCE_DATE_EPOCH layer blobs' records. */
  get blobVariants(): string {
    return join(this.root, 'blob-variants');
  }
  /** ADD's http cache: the URL records (sources/http-download.ts); the bytes are in the content store. */
  get httpDownloads(): string {
    return join(this.root, 'sources', 'http');
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
    return new RuntimePaths(this.runtime).marker;
  }
  /** runc's state root. */
  get runc(): string {
    return new RuntimePaths(this.runtime).runc;
  }
  /** crun's state root. */
  get crun(): string {
    return new RuntimePaths(this.runtime).crun;
  }
  /** This process's RUN bundles: `<runtime>/tmp/<owner>/`, swept like `tmp` when the owner is gone. */
  get runtimeTmp(): string {
    return join(this.runtimeTmpRoot, ownerToken());
  }
  /** Every build's bundle dirs. */
  get runtimeTmpRoot(): string {
    return new RuntimePaths(this.runtime).tmpRoot;
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
  /** Every build's full log, `<build id>.jsonl`, the newest kept (progress/build-log.ts; `tsbuild history`). */
  get buildLogs(): string {
    return join(this.root, 'builds');
  }
}
