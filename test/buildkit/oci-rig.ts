/**
 * Reads an OCI archive a ported test built (BuildKit's tests read theirs with testutil.ReadTarToMap):
 * unpacked into a directory, then its index, manifests, configs and layers by digest.
 */
import { execFile } from 'node:child_process';
import { mkdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

export interface Descriptor {
  mediaType: string;
  digest: string;
  size: number;
  platform?: { os: string; architecture: string; variant?: string; 'os.version'?: string };
  annotations?: Record<string, string>;
}
export interface Index {
  manifests: Descriptor[];
}
export interface Manifest {
  config: Descriptor;
  layers: Descriptor[];
}
export interface ImageConfig {
  created?: string;
  os: string;
  architecture: string;
  variant?: string;
  'os.version'?: string;
  config: { Labels?: Record<string, string>; Env?: string[]; Entrypoint?: string[] };
  history?: { created?: string; created_by?: string; empty_layer?: boolean; comment?: string }[];
  rootfs: { diff_ids: string[] };
}

export interface OciArchive {
  dir: string;
  index: Index;
  json<T>(digest: string): Promise<T>;
  /** A layer's files by path (gzip or not, as tar tells). */
  layerFiles(digest: string): Promise<Map<string, string>>;
}

export async function readOciArchive(archive: string): Promise<OciArchive> {
  const dir = `${archive}.d`;
  await mkdir(dir, { recursive: true });
  await run('tar', ['-xf', archive, '-C', dir]);
  const blob = (digest: string) => join(dir, 'blobs/sha256', digest.replace('sha256:', ''));
  return {
    dir,
    index: JSON.parse(await readFile(join(dir, 'index.json'), 'utf8')) as Index,
    json: async <T>(digest: string) => JSON.parse(await readFile(blob(digest), 'utf8')) as T,
    async layerFiles(digest) {
      const into = `${blob(digest)}.x`;
      await mkdir(into, { recursive: true });
      await run('tar', ['-xf', blob(digest), '-C', into]);
      const { stdout } = await run('find', [into, '-type', 'f']);
      const files = new Map<string, string>();
      for (const path of stdout.split('\n').filter(Boolean))
        files.set(path.slice(into.length + 1), await readFile(path, 'utf8'));
      return files;
    },
  };
}
