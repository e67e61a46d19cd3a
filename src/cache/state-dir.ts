import { homedir } from 'node:os';
import { join } from 'node:path';
import { ownerToken } from './owner.js';

/** Where tsbuild keeps everything between builds (DESIGN.md: State directory). */
export function defaultStateRoot(env: NodeJS.ProcessEnv = process.env): string {
  if (env.TSBUILD_ROOT) return env.TSBUILD_ROOT;
  if (env.XDG_DATA_HOME) return join(env.XDG_DATA_HOME, 'tsbuild');
  return join(homedir(), '.local', 'share', 'tsbuild');
}

/** The fixed layout of the state directory. */
export class StatePaths {
  constructor(readonly root: string) {}
  /** A valid OCI image layout: skopeo/umoci read it directly. */
  get content(): string {
    return join(this.root, 'content');
  }
  /** One folder per layer: `<id>/fs` (overlay format) and `<id>/layer.json` once exported. */
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
  /** runc's state root. */
  get runc(): string {
    return join(this.root, 'runc');
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
