/**
 * Every output type on one build, read back with tools that are not ours (tar, skopeo, umoci,
 * docker load where a dockerd runs), and reproducibility: SOURCE_DATE_EPOCH builds on fresh
 * state dirs give byte-identical archives.
 */
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { lstat, readFile, readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FROM_BASE, makeFixture, runCli, unpackArchive, type Fixture } from '../helpers/build-fixture.js';
import { dockerdRunning } from '../helpers/dockerd.js';

const run = promisify(execFile);
const sha = async (file: string) =>
  createHash('sha256')
    .update(await readFile(file))
    .digest('hex');

const DOCKERFILE = `FROM ${FROM_BASE}
RUN echo made > /made && rm /bin/true && mkdir -p /gone && touch /gone/x
RUN rm -r /gone && rm -r /home && mkdir /home && echo only > /home/only
COPY a.txt /app/a.txt
CMD ["cat", "/made"]
`;

describe('outputs', () => {
  let fx: Fixture;
  const out = (name: string) => join(fx.dir, name);
  let stderr = '';

  beforeAll(async () => {
    fx = await makeFixture({ Dockerfile: DOCKERFILE, 'a.txt': 'from the context\n' });
    const res = await runCli(
      [
        '--progress=plain',
        '-t',
        'outputs:1',
        '-o',
        `type=oci,dest=${out('image.oci.tar')}`,
        '-o',
        `type=oci,tar=false,dest=${out('layout')},compression=zstd`,
        '-o',
        `type=docker,dest=${out('image.docker.tar')},compression=uncompressed`,
        '-o',
        `type=local,dest=${out('rootfs')}`,
        '-o',
        `type=tar,dest=${out('rootfs.tar')}`,
        '--metadata-file',
        out('meta.json'),
        fx.context,
      ],
      { env: { TSBUILD_ROOT: fx.stateRoot } },
    );
    stderr = res.stderr;
    expect(res.exitCode, res.stderr).toBe(0);
  });
  afterAll(async () => fx?.cleanup());

  it('type=local is the root filesystem with every whiteout applied', async () => {
    const root = out('rootfs');
    expect(await readFile(join(root, 'made'), 'utf8')).toBe('made\n');
    expect(await readFile(join(root, 'app/a.txt'), 'utf8')).toBe('from the context\n');
    expect(existsSync(join(root, 'bin/true'))).toBe(false);
    expect(existsSync(join(root, 'gone'))).toBe(false);
    // /home was replaced by an opaque directory: nothing of the base's /home/app shows through
    expect(await readdir(join(root, 'home'))).toEqual(['only']);
    expect((await lstat(join(root, 'bin/sh'))).isSymbolicLink() || (await lstat(join(root, 'bin/sh'))).isFile()).toBe(
      true,
    );
    // no whiteout markers or overlay leftovers
    const all = (await readdir(root, { recursive: true })).map(String);
    expect(all.filter((p) => p.includes('.wh.'))).toEqual([]);
    expect(stderr).toContain(`wrote the root filesystem to ${root}`);
  });

  it('type=tar is the same tree as one tar, sorted, owners as in the image', async () => {
    const { stdout } = await run('tar', ['-tvf', out('rootfs.tar')], { maxBuffer: 16 << 20 });
    const names = (await run('tar', ['-tf', out('rootfs.tar')], { maxBuffer: 16 << 20 })).stdout.trim().split('\n');
    expect(names).toContain('made');
    expect(names).toContain('app/a.txt');
    expect(names).not.toContain('bin/true');
    expect(names.some((n) => n.startsWith('gone') || n.includes('.wh.'))).toBe(false);
    expect([...names].sort((a, b) => Buffer.compare(Buffer.from(a), Buffer.from(b)))).toEqual(names);
    expect(stdout).toMatch(/0\/0 +5 .* made\n/);
  });

  it('type=oci,tar=false is a layout skopeo reads and FROM oci-layout:// builds on; zstd layers', async () => {
    const { stdout } = await run('skopeo', ['inspect', '--raw', `oci:${out('layout')}:1`]);
    const manifest = JSON.parse(stdout) as { layers: { mediaType: string }[] };
    // the pulled base keeps its gzip blob (no force-compression); the build's layers are zstd
    expect(manifest.layers.map((l) => l.mediaType.split('+')[1])).toEqual(['gzip', 'zstd', 'zstd', 'zstd']);
    const next = await makeFixture({
      Dockerfile: `FROM oci-layout://${out('layout')}:1\nRUN cat /made /app/a.txt > /both\n`,
    });
    try {
      // type=local rather than umoci, which cannot read zstd layers
      const res = await runCli(
        [
          '--progress=plain',
          '--allow',
          `fs.read=${out('layout')}`,
          '-o',
          `type=local,dest=${join(next.dir, 'fs')}`,
          next.context,
        ],
        { env: { TSBUILD_ROOT: next.stateRoot } },
      );
      expect(res.exitCode, res.stderr).toBe(0);
      expect(await readFile(join(next.dir, 'fs', 'both'), 'utf8')).toBe('made\nfrom the context\n');
    } finally {
      await next.cleanup();
    }
  });

  it('type=oci archives unpack with umoci; --metadata-file names the image and its config', async () => {
    const img = await unpackArchive(out('image.oci.tar'), join(fx.dir, 'unpacked'));
    expect(await img.read('/made')).toBe('made\n');
    const meta = JSON.parse(await readFile(out('meta.json'), 'utf8')) as Record<string, string>;
    const index = JSON.parse((await run('tar', ['-xOf', out('image.oci.tar'), 'index.json'])).stdout) as {
      manifests: { digest: string }[];
    };
    expect(meta['containerimage.digest']).toBe(index.manifests[0]!.digest);
    expect(meta['image.name']).toBe('docker.io/library/outputs:1');
    expect(meta['containerimage.config.digest']).toMatch(/^sha256:[a-f0-9]{64}$/);
  });

  it('type=docker with uncompressed layers is read by skopeo as a docker archive', async () => {
    const { stdout } = await run('skopeo', ['inspect', `docker-archive:${out('image.docker.tar')}`]);
    expect((JSON.parse(stdout) as { Layers: string[] }).Layers).toHaveLength(4);
  });

  it.skipIf(!dockerdRunning())('docker load takes the docker archive (when a dockerd runs here)', async () => {
    const { stdout } = await run('/usr/bin/docker', ['load', '-i', out('image.docker.tar')]);
    expect(stdout).toMatch(/Loaded image: outputs:1/);
    const res = await run('/usr/bin/docker', ['run', '--rm', '--network', 'none', 'outputs:1']);
    expect(res.stdout).toBe('made\n');
    await run('/usr/bin/docker', ['image', 'rm', 'outputs:1']).catch(() => {});
  });
});

describe('reproducible builds', () => {
  it('SOURCE_DATE_EPOCH: two builds on fresh state dirs give byte-identical archives and the same digest', async () => {
    const epoch = 1_700_000_000;
    const results: { oci: string; rootfs: string; digest: string; fx: Fixture }[] = [];
    try {
      for (let i = 0; i < 2; i++) {
        const fx = await makeFixture({ Dockerfile: DOCKERFILE, 'a.txt': 'from the context\n' });
        const res = await runCli(
          [
            '--progress=plain',
            '-t',
            'repro:1',
            '-o',
            `type=oci,dest=${join(fx.dir, 'i.tar')}`,
            '-o',
            `type=tar,dest=${join(fx.dir, 'r.tar')}`,
            fx.context,
          ],
          {
            env: { TSBUILD_ROOT: fx.stateRoot, SOURCE_DATE_EPOCH: String(epoch) },
          },
        );
        expect(res.exitCode, res.stderr).toBe(0);
        results.push({
          oci: await sha(join(fx.dir, 'i.tar')),
          rootfs: await sha(join(fx.dir, 'r.tar')),
          digest: /image (sha256:\S+)/.exec(res.stderr)![1]!,
          fx,
        });
      }
      expect(results[1]!.digest).toBe(results[0]!.digest);
      expect(results[1]!.oci).toBe(results[0]!.oci);
      expect(results[1]!.rootfs).toBe(results[0]!.rootfs);

      const fx = results[0]!.fx;
      const config = JSON.parse(
        (await run('skopeo', ['inspect', '--config', '--raw', `oci-archive:${join(fx.dir, 'i.tar')}`])).stdout,
      ) as { created: string; history: { created: string }[] };
      expect(config.created).toBe('2023-11-14T22:13:20Z');
      expect(config.history.at(-1)!.created).toBe('2023-11-14T22:13:20Z');
      // files the build made have their mtime clamped to the epoch
      const { stdout } = await run('tar', ['--utc', '-tvf', join(fx.dir, 'r.tar'), 'made']);
      expect(stdout).toContain('2023-11-14 22:13');
    } finally {
      for (const r of results) await r.fx.cleanup();
    }
  });
});
