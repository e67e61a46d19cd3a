/**
 * BuildKit's frontend/dockerfile/dockerfile_export_test.go against our CLI. tsbuild builds Linux
 * images only (--platform refuses another OS), so the Go tests' darwin and windows platforms are
 * Linux ones here; everything else they assert is asserted as they do.
 */
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { rigsForFile, type Rig } from './behaviours-rig.js';
import { type ImageConfig, type Index, type Manifest, readOciArchive } from './oci-rig.js';

const run = promisify(execFile);
const open = rigsForFile();
/** Builds with `-o type=tar` to a file and lists the tar's files with their contents. */
async function tarExport(r: Rig, args: string[] = []): Promise<Map<string, string>> {
  const dest = join(r.fx.dir, `out-${Math.random().toString(36).slice(2)}.tar`);
  const res = await r.cli(['-o', `type=tar,dest=${dest}`, ...args]);
  expect(res.exitCode, res.stderr).toBe(0);
  const names = (await run('tar', ['-tf', dest])).stdout.split('\n').filter((n) => n && !n.endsWith('/'));
  const files = new Map<string, string>();
  for (const n of names) files.set(n.replace(/^\.\//, ''), (await run('tar', ['-xOf', dest, n])).stdout);
  return files;
}

describe('BuildKit exporters (dockerfile_export_test.go)', () => {
  it('testTarExporterBasic', async () => {
    const r = await open({ Dockerfile: 'FROM scratch\nCOPY foo foo\n', foo: 'data' });
    expect((await tarExport(r)).get('foo')).toBe('data');
  });

  it('testTarExporterMulti (linux/amd64 and linux/arm64 for linux/amd64 and darwin/amd64)', async () => {
    const r = await open({
      Dockerfile: `
FROM scratch AS stage-amd64
COPY foo forlinux

FROM scratch AS stage-arm64
COPY bar fordarwin

FROM stage-$TARGETARCH
`,
      foo: 'data',
      bar: 'data2',
    });
    const one = await tarExport(r, ['--platform', 'linux/amd64']);
    expect(one.get('forlinux')).toBe('data');
    // repeat multi-platform: one directory per platform
    const multi = await tarExport(r, ['--platform', 'linux/amd64,linux/arm64']);
    expect(multi.get('linux_amd64/forlinux')).toBe('data');
    expect(multi.get('linux_arm64/fordarwin')).toBe('data2');
  });

  it('testExportMultiPlatform (linux/amd64 for windows/amd64)', async () => {
    const r = await open({
      Dockerfile: `
FROM scratch
ARG TARGETARCH
ARG TARGETPLATFORM
LABEL target=$TARGETPLATFORM
COPY arch-$TARGETARCH whoami
`,
      'arch-arm': 'i am arm',
      'arch-amd64': 'i am amd64',
      'arch-s390x': 'i am s390x',
      'arch-ppc64le': 'i am ppc64le',
    });
    const local = await r.local(['--platform', 'linux/amd64,linux/arm,linux/s390x']);
    expect(local.exitCode, local.stderr).toBe(0);
    expect(await local.read('linux_amd64/whoami')).toBe('i am amd64');
    expect(await local.read('linux_arm_v7/whoami')).toBe('i am arm');
    expect(await local.read('linux_s390x/whoami')).toBe('i am s390x');

    // repeat with the oci exporter
    const archive = join(r.fx.dir, 'out.tar');
    const res = await r.cli(['-o', `type=oci,dest=${archive}`, '--platform', 'linux/amd64,linux/arm/v6,linux/ppc64le']);
    expect(res.exitCode, res.stderr).toBe(0);
    const oci = await readOciArchive(archive);
    const idx = await oci.json<Index>(oci.index.manifests[0]!.digest);
    expect(idx.manifests).toHaveLength(3);
    const expected = [
      { p: 'linux/amd64', os: 'linux', arch: 'amd64', dt: 'i am amd64' },
      { p: 'linux/arm/v6', os: 'linux', arch: 'arm', dt: 'i am arm' },
      { p: 'linux/ppc64le', os: 'linux', arch: 'ppc64le', dt: 'i am ppc64le' },
    ];
    for (const [i, exp] of expected.entries()) {
      const { platform } = idx.manifests[i]!;
      expect([platform?.os, platform?.architecture, platform?.variant].filter(Boolean).join('/')).toBe(exp.p);
      const mfst = await oci.json<Manifest>(idx.manifests[i]!.digest);
      expect(mfst.layers).toHaveLength(1);
      expect((await oci.layerFiles(mfst.layers[0]!.digest)).get('whoami')).toBe(exp.dt);
      const img = await oci.json<ImageConfig>(mfst.config.digest);
      expect(img.os).toBe(exp.os);
      expect(img.architecture).toBe(exp.arch);
      expect(img.config.Labels?.target).toBe(exp.p);
    }
  });
});
