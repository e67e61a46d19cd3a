import { homedir } from 'node:os';
import { join } from 'node:path';

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
  /** Scratch space for in-flight work; anything here may be deleted when no build holds the lock. */
  get tmp(): string {
    return join(this.root, 'tmp');
  }
  /** runc's state root. */
  get runc(): string {
    return join(this.root, 'runc');
  }
  get lockFile(): string {
    return join(this.root, 'lock');
  }
}
