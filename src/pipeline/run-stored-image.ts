/**
 * `tsbuild run`: one stored image's process in a container, as `docker run` starts it. This module
 * only wires the others together: the image store (which image, its config and layers), the
 * snapshotter (its layers as snapshots, a throw-away writable layer), the executor (runc).
 */
import { randomBytes } from 'node:crypto';
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { CacheRecords } from '../cache/cache-records.js';
import { openStateSession } from '../cache/state-session.js';
import { markRuntimeDir } from '../cache/sweep.js';
import { UserError } from '../errors.js';
import type { OciMount } from '../executor/runtime-spec.js';
import { runContainer } from '../executor/run-container.js';
import { ImageStore } from '../exporter/image-store.js';
import { removeTree } from '../process/remove-tree.js';
import { checkEmulator } from '../executor/binfmt.js';
import { defaultPlatform, formatPlatform, type PlatformSpec } from '../registry/platform.js';
import { SnapshotStore } from '../snapshot/snapshot-store.js';
import { withContainerRoot } from '../solver/ops/container-root-of-chain.js';
import { ContentStore } from '../store/content-store.js';
import { ownerToken } from '../store/owner.js';
import { StatePaths } from '../store/state-paths.js';
import { imageSnapshots } from './image-snapshots.js';
import { processConfig, type RunProcessOptions } from './run-config.js';
import { stateOwners } from './state-owners.js';

/** `-v HOST:CTR[:ro]`: a bind mount of an existing host path. */
export interface Volume {
  source: string;
  target: string;
  readonly: boolean;
}

export interface RunImageRequest {
  stateRoot: string;
  /** A name or image ID, as `images` shows them. */
  image: string;
  process: Omit<RunProcessOptions, 'hostname' | 'tty'>;
  network: 'host' | 'none';
  volumes: Volume[];
  /** `-i`: our stdin goes to the process. */
  stdin: boolean;
  /** `-t`: the process gets a terminal. */
  tty: boolean;
  /** `--name`: shows in the runc container's id. */
  name?: string;
  /** `--platform`: that platform's image of a multi-platform image, run under emulation when foreign. */
  platform?: PlatformSpec;
}

/** docker run's exit codes for a process that never ran: cannot start, not executable, not found. */
export const EXIT_CANNOT_START = 125;
export const EXIT_NOT_EXECUTABLE = 126;
export const EXIT_NOT_FOUND = 127;

/**
 * Runs the image's process and resolves with what `docker run` exits with: the process's exit
 * code, or 126/127/125 when it could not be started. Its writable layer is a scratch dir in this
 * process's tmp dir, removed afterwards; the bundle and runc's state live in the owner-scoped
 * runtime dir. A tsbuild killed meanwhile leaves them to the next build's or run's sweep.
 */
export async function runStoredImage(
  req: RunImageRequest,
  report: { onWait(message: string): void; onWarning(message: string): void },
): Promise<number> {
  const paths = new StatePaths(req.stateRoot);
  // The lease keeps prune from removing the snapshots under the container while it runs.
  const session = await openStateSession(paths, report.onWait);
  const store = new ContentStore(paths.content);
  const snapshots = new SnapshotStore(paths.snapshots);
  let grew = false;
  try {
    const images = new ImageStore(store);
    const { images: found } = await images.resolve(req.image);
    const details = await images.details(found[0]!.target, req.platform);
    const host = defaultPlatform();
    // a foreign image runs through the kernel's emulator (as a build's RUN): an error if none is registered
    await checkEmulator(formatPlatform(details.config), host.architecture);
    // asked for by --platform, a foreign platform is no surprise (docker warns only without it)
    if (!req.platform && (details.config.architecture !== host.architecture || details.config.os !== host.os))
      report.onWarning(
        `the image's platform (${details.config.os}/${details.config.architecture}) does not match this machine's (${host.os}/${host.architecture})`,
      );
    const diffIds = details.config.rootfs?.diff_ids ?? [];
    if (diffIds.length !== details.layers.length)
      throw new UserError(
        `image ${req.image}: its config lists ${diffIds.length} layers and its manifest ${details.layers.length}`,
      );
    if (!details.layers.length) throw new UserError(`image ${req.image} has no layers: there is nothing to run`);
    await session.layoutReady;
    const chain = await imageSnapshots(
      snapshots,
      store,
      details.layers.map((descriptor, i) => ({ descriptor, diffId: diffIds[i]! })),
    );
    grew = chain.unpacked > 0;
    const hostname = randomBytes(6).toString('hex');
    const proc = processConfig(details.config.config ?? {}, { ...req.process, tty: req.tty, hostname });
    await markRuntimeDir(paths);
    const scratch = join(paths.tmp, `run-${hostname}`);
    const upper = { id: `run-${hostname}`, root: scratch, fs: join(scratch, 'fs'), work: join(scratch, 'work') };
    await mkdir(upper.fs, { recursive: true });
    await mkdir(upper.work, { recursive: true });
    try {
      const result = await withContainerRoot({ snapshots, paths }, chain.ids, upper, (root) =>
        runContainer({
          root,
          ...proc,
          network: req.network,
          mounts: req.volumes.map(bindMount),
          bundleParent: paths.runtimeTmp,
          runcRoot: paths.runc,
          owner: ownerToken(),
          hostname,
          ...(req.name ? { name: req.name } : {}),
          attach: { stdin: req.stdin, tty: req.tty },
        }),
      );
      if (result.startFailure === 'not-found') return EXIT_NOT_FOUND;
      if (result.startFailure === 'not-executable') return EXIT_NOT_EXECUTABLE;
      if (result.startFailure) return EXIT_CANNOT_START;
      return result.exitCode;
    } finally {
      await removeTree(scratch);
    }
  } finally {
    await session.close({
      grew,
      parts: {
        store,
        snapshots,
        records: new CacheRecords(paths.cacheRecords),
        owners: () => stateOwners(paths, store),
      },
    });
  }
}

function bindMount(v: Volume): OciMount {
  return { destination: v.target, type: 'bind', source: v.source, options: ['rbind', v.readonly ? 'ro' : 'rw'] };
}
