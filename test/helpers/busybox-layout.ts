/**
 * Tiny real images for tests: an OCI image layout holding one layer with a static busybox
 * (Debian's busybox-static), its applet links, and a minimal /etc — enough to RUN shell commands.
 * Built with umoci, so the layout is written by a tool other than ours.
 *
 *   const img = await makeBusyboxLayout(join(tmp, 'layout'));        // img.layout, tag 'latest'
 *   const multi = await addPlatformIndex(img.layout, 'latest', 'multi', [{ os: 'linux', architecture: 'arm64' }]);
 */
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { chmod, copyFile, mkdir, mkdtemp, readFile, rename, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);
const BUSYBOX = '/bin/busybox';

export interface LayoutImage {
  /** The layout directory (`oci:LAYOUT:TAG` for skopeo, `LAYOUT:TAG` for umoci). */
  layout: string;
  tag: string;
  manifestDigest: string;
  manifestSize: number;
  configDigest: string;
  /** Compressed layer blobs, bottom first. */
  layerDigests: string[];
  /** Uncompressed layer digests (the config's rootfs.diff_ids). */
  diffIds: string[];
}

export interface BusyboxLayoutOptions {
  tag?: string;
  /** Link every busybox applet (`sh`, `ls`, …) into /bin. Default true. */
  applets?: boolean;
  /** Extra files for the image: path in the image → content. */
  files?: Record<string, string>;
  /** Config changes, e.g. `['--config.env', 'FOO=bar']` (umoci config flags). */
  config?: string[];
}

/** Builds the layout at `layout` (which must not exist yet). */
export async function makeBusyboxLayout(layout: string, opts: BusyboxLayoutOptions = {}): Promise<LayoutImage> {
  const tag = opts.tag ?? 'latest';
  const image = `${layout}:${tag}`;
  const bundle = await mkdtemp(join(tmpdir(), 'tsbuild-busybox-bundle-'));
  try {
    await umoci('init', '--layout', layout);
    await umoci('new', '--image', image);
    await rm(bundle, { recursive: true });
    await umoci('unpack', '--image', image, bundle);
    const rootfs = join(bundle, 'rootfs');
    await mkdir(join(rootfs, 'bin'), { recursive: true });
    await copyFile(BUSYBOX, join(rootfs, 'bin', 'busybox'));
    await chmod(join(rootfs, 'bin', 'busybox'), 0o755);
    if (opts.applets ?? true) {
      const { stdout } = await run(BUSYBOX, ['--list']);
      for (const applet of stdout.split('\n').map((s) => s.trim())) {
        if (applet && applet !== 'busybox') await symlink('busybox', join(rootfs, 'bin', applet)).catch(ignoreExists);
      }
    }
    await mkdir(join(rootfs, 'etc'), { recursive: true });
    await writeFile(
      join(rootfs, 'etc', 'passwd'),
      'root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/bin/false\n',
    );
    await writeFile(join(rootfs, 'etc', 'group'), 'root:x:0:\nnogroup:x:65534:\n');
    await mkdir(join(rootfs, 'tmp'), { recursive: true });
    await chmod(join(rootfs, 'tmp'), 0o1777);
    await mkdir(join(rootfs, 'root'), { recursive: true, mode: 0o700 });
    for (const [path, content] of Object.entries(opts.files ?? {})) {
      const target = join(rootfs, path);
      await mkdir(dirname(target), { recursive: true });
      await writeFile(target, content);
    }
    await umoci('repack', '--image', image, bundle);
    await umoci(
      'config',
      '--image',
      image,
      '--config.cmd',
      'sh',
      '--config.env',
      'PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin',
      ...(opts.config ?? []),
    );
    await umoci('gc', '--layout', layout);
  } finally {
    await rm(bundle, { recursive: true, force: true });
  }
  return readLayoutImage(layout, tag);
}

let shared: Promise<LayoutImage> | undefined;

/**
 * One busybox layout shared by every test (and every test process), built on first use in the
 * temp dir and kept there: test workers are not guaranteed a clean exit to remove it, and reusing
 * it saves the build. Read-only: copy it (or build your own) to change it. Bump the version in
 * the name when makeBusyboxLayout changes what it builds.
 */
export function sharedBusyboxLayout(): Promise<LayoutImage> {
  shared ??= (async () => {
    const dir = join(tmpdir(), `tsbuild-test-busybox-v1-uid${process.getuid?.() ?? 0}`);
    try {
      return await readLayoutImage(dir, 'latest');
    } catch {
      // not built yet (or half-removed): build beside it and rename into place, so concurrent
      // processes never see a partial layout; whoever renames first wins
    }
    const work = await mkdtemp(`${dir}.tmp-`);
    try {
      await makeBusyboxLayout(join(work, 'layout'));
      await rename(join(work, 'layout'), dir).catch((err: NodeJS.ErrnoException) => {
        if (err.code !== 'EEXIST' && err.code !== 'ENOTEMPTY') throw err;
      });
    } finally {
      await rm(work, { recursive: true, force: true });
    }
    return readLayoutImage(dir, 'latest');
  })();
  return shared;
}

/** Describes the image tagged `tag` in `layout` (which must be a single-platform manifest). */
export async function readLayoutImage(layout: string, tag: string): Promise<LayoutImage> {
  const index = JSON.parse(await readFile(join(layout, 'index.json'), 'utf8')) as {
    manifests: { digest: string; size: number; annotations?: Record<string, string> }[];
  };
  const desc = index.manifests.find((d) => d.annotations?.['org.opencontainers.image.ref.name'] === tag);
  if (!desc) throw new Error(`no ${tag} in ${layout}`);
  const manifest = JSON.parse(await readBlob(layout, desc.digest)) as {
    config: { digest: string };
    layers: { digest: string }[];
  };
  const config = JSON.parse(await readBlob(layout, manifest.config.digest)) as { rootfs: { diff_ids: string[] } };
  return {
    layout,
    tag,
    manifestDigest: desc.digest,
    manifestSize: desc.size,
    configDigest: manifest.config.digest,
    layerDigests: manifest.layers.map((l) => l.digest),
    diffIds: config.rootfs.diff_ids,
  };
}

export interface PlatformEntry {
  os: string;
  architecture: string;
  variant?: string;
}

/**
 * Adds `toTag`: an image index with one manifest per platform, each a copy of `fromTag`'s image
 * with the config's os/architecture/variant changed (the layers are shared, so only amd64's can
 * actually run — enough to test platform selection). Returns the index digest and, per platform,
 * the manifest and config digests, in the order given.
 */
export async function addPlatformIndex(
  layout: string,
  fromTag: string,
  toTag: string,
  platforms: PlatformEntry[],
): Promise<{
  indexDigest: string;
  indexSize: number;
  manifests: { platform: PlatformEntry; manifestDigest: string; configDigest: string }[];
}> {
  const base = await readLayoutImage(layout, fromTag);
  const manifest = JSON.parse(await readBlob(layout, base.manifestDigest)) as Record<string, unknown> & {
    config: { digest: string; size: number };
  };
  const config = JSON.parse(await readBlob(layout, base.configDigest)) as Record<string, unknown>;
  const entries = [];
  const out = [];
  for (const p of platforms) {
    const cfg = { ...config, os: p.os, architecture: p.architecture } as Record<string, unknown>;
    if (p.variant) cfg.variant = p.variant;
    else delete cfg.variant;
    const cfgDesc = await writeBlob(layout, JSON.stringify(cfg));
    const man = {
      ...manifest,
      mediaType: 'application/vnd.oci.image.manifest.v1+json',
      config: { ...manifest.config, digest: cfgDesc.digest, size: cfgDesc.size },
    };
    const manDesc = await writeBlob(layout, JSON.stringify(man));
    entries.push({
      mediaType: 'application/vnd.oci.image.manifest.v1+json',
      digest: manDesc.digest,
      size: manDesc.size,
      platform: p,
    });
    out.push({ platform: p, manifestDigest: manDesc.digest, configDigest: cfgDesc.digest });
  }
  const idx = await writeBlob(
    layout,
    JSON.stringify({ schemaVersion: 2, mediaType: 'application/vnd.oci.image.index.v1+json', manifests: entries }),
  );
  const indexPath = join(layout, 'index.json');
  const index = JSON.parse(await readFile(indexPath, 'utf8')) as { manifests: unknown[] };
  index.manifests.push({
    mediaType: 'application/vnd.oci.image.index.v1+json',
    digest: idx.digest,
    size: idx.size,
    annotations: { 'org.opencontainers.image.ref.name': toTag },
  });
  await writeFile(indexPath, JSON.stringify(index));
  return { indexDigest: idx.digest, indexSize: idx.size, manifests: out };
}

export async function readBlob(layout: string, digest: string): Promise<string> {
  return readFile(join(layout, 'blobs', 'sha256', digest.replace(/^sha256:/, '')), 'utf8');
}

/** Writes a blob into the layout and returns its digest and size. */
export async function writeBlob(layout: string, content: string | Buffer): Promise<{ digest: string; size: number }> {
  const bytes = typeof content === 'string' ? Buffer.from(content) : content;
  const hex = createHash('sha256').update(bytes).digest('hex');
  await writeFile(join(layout, 'blobs', 'sha256', hex), bytes);
  return { digest: `sha256:${hex}`, size: bytes.length };
}

async function umoci(...args: string[]): Promise<void> {
  try {
    await run('umoci', args, { maxBuffer: 16 << 20 });
  } catch (err) {
    const e = err as { stderr?: string; message: string };
    throw new Error(`umoci ${args.join(' ')} failed: ${e.stderr || e.message}`);
  }
}

function ignoreExists(err: NodeJS.ErrnoException): void {
  if (err.code !== 'EEXIST') throw err;
}
