/** Small readers of what a build wrote: the digest it printed, tags in a state dir, a registry's manifests. */
import { execFileSync } from 'node:child_process';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';

/** The manifest digest from the CLI's closing `manifest sha256:…` line (`image` is the config digest, docker's ID). */
export function printedDigest(stderr: string): string | undefined {
  return /^manifest (sha256:[0-9a-f]{64})$/m.exec(stderr)?.[1];
}

/** The names in a state dir's content/index.json. */
export async function storedNames(stateRoot: string): Promise<string[]> {
  const raw = await readFile(join(stateRoot, 'content', 'index.json'), 'utf8').catch(() => '{"manifests":[]}');
  const index = JSON.parse(raw) as { manifests?: { annotations?: Record<string, string> }[] };
  return (index.manifests ?? []).map((m) => m.annotations?.['org.opencontainers.image.ref.name'] ?? '').filter(Boolean);
}

const MANIFEST_TYPES = [
  'application/vnd.oci.image.manifest.v1+json',
  'application/vnd.oci.image.index.v1+json',
  'application/vnd.docker.distribution.manifest.v2+json',
  'application/vnd.docker.distribution.manifest.list.v2+json',
].join(', ');

/** The digest a plain-HTTP registry holds for repo:tag, or undefined when it has none. */
export async function registryDigest(url: string, repo: string, tag: string): Promise<string | undefined> {
  const res = await fetch(`${url}/v2/${repo}/manifests/${tag}`, {
    method: 'HEAD',
    headers: { Accept: MANIFEST_TYPES },
  });
  if (res.status === 404) return undefined;
  if (!res.ok) throw new Error(`HEAD ${repo}:${tag}: ${res.status}`);
  return res.headers.get('docker-content-digest') ?? undefined;
}

/**
 * The blobs of an OCI archive (layers decompressed, configs and manifests as they are) that
 * contain `needle`, by digest.
 */
export async function archiveBlobsContaining(archive: string, needle: Buffer): Promise<string[]> {
  const dir = await mkdtemp(join(tmpdir(), 'tsbuild-torture-blobs-'));
  try {
    execFileSync('tar', ['-xf', archive, '-C', dir]);
    const hits: string[] = [];
    const blobs = join(dir, 'blobs', 'sha256');
    for (const name of await readdir(blobs)) {
      const raw = await readFile(join(blobs, name));
      let plain = raw;
      if (raw[0] === 0x1f && raw[1] === 0x8b) plain = gunzipSync(raw);
      else if (raw.readUInt32LE(0) === 0xfd2fb528)
        plain = execFileSync('zstd', ['-dc'], { input: raw, maxBuffer: 1 << 30 });
      if (plain.includes(needle) || raw.includes(needle)) hits.push(`sha256:${name}`);
    }
    for (const f of ['index.json', 'manifest.json', 'oci-layout']) {
      if ((await readFile(join(dir, f)).catch(() => Buffer.alloc(0))).includes(needle)) hits.push(f);
    }
    return hits;
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
