/**
 * BuildKit's frontend/dockerfile/dockerfile_rundevice_test.go: `RUN --device` (CDI devices, named
 * by the CDI specs in the spec directories). tsbuild reads JSON specs only (BuildKit's test writes
 * YAML: the same spec is written as JSON here) and applies a device's environment only.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { df, rig, type Rig } from './behaviours-rig.js';

const rigs: Rig[] = [];
const dirs: string[] = [];
afterAll(async () => {
  for (const r of rigs) await r.cleanup();
  for (const d of dirs) await rm(d, { recursive: true, force: true });
});

async function specDir(specs: Record<string, unknown>): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'tsbuild-cdi-'));
  dirs.push(dir);
  for (const [name, spec] of Object.entries(specs)) await writeFile(join(dir, name), JSON.stringify(spec));
  return dir;
}

const vendor1 = {
  cdiVersion: '0.6.0',
  kind: 'vendor1.com/device',
  devices: [
    {
      name: 'foo',
      containerEdits: { env: ['FOO=injected'] },
      annotations: { 'org.mobyproject.buildkit.device.autoallow': 'true' },
    },
  ],
};

describe('BuildKit RUN --device (dockerfile_rundevice_test.go)', () => {
  it('testDeviceRunEnv', async () => {
    const cdi = await specDir({ 'vendor1-device.json': vendor1 });
    const r = await rig({
      Dockerfile: df(`
FROM busybox AS base
RUN --device=vendor1.com/device=foo,required \\
    --device=vendor2.com/device=bar \\
    env|sort | tee foo.env
FROM scratch
COPY --from=base /foo.env /`),
    });
    rigs.push(r);
    const res = await r.local([], { env: { TSBUILD_CDI_SPEC_DIRS: cdi } });
    expect(res.exitCode, res.stderr).toBe(0);
    expect(await res.read('foo.env')).toContain('FOO=injected');
  });

  it('a required device no spec names fails the step; YAML specs are named as unread', async () => {
    const cdi = await specDir({ 'vendor1-device.json': vendor1 });
    await writeFile(join(cdi, 'vendor2.yaml'), 'kind: vendor2.com/device\n');
    const r = await rig({ Dockerfile: df('FROM busybox\nRUN --device=vendor2.com/device=bar,required true') });
    rigs.push(r);
    const res = await r.local([], { env: { TSBUILD_CDI_SPEC_DIRS: cdi } });
    expect(res.exitCode).not.toBe(0);
    expect(res.stderr).toContain('no CDI spec');
    expect(res.stderr).toContain('vendor2.yaml');
  });

  it('a device whose spec adds device nodes is refused (only its environment is applied)', async () => {
    const cdi = await specDir({
      'gpu.json': {
        cdiVersion: '0.6.0',
        kind: 'vendor3.com/gpu',
        devices: [{ name: 'all', containerEdits: { deviceNodes: [{ path: '/dev/null' }] } }],
      },
    });
    const r = await rig({ Dockerfile: df('FROM busybox\nRUN --device=vendor3.com/gpu=all true') });
    rigs.push(r);
    const res = await r.local([], { env: { TSBUILD_CDI_SPEC_DIRS: cdi } });
    expect(res.exitCode).not.toBe(0);
    expect(res.stderr).toContain('adds deviceNodes');
  });

  it('a malformed --device is refused', async () => {
    const r = await rig({ Dockerfile: df('FROM busybox\nRUN --device=foo,bogus true') });
    rigs.push(r);
    const res = await r.local([]);
    expect(res.exitCode).not.toBe(0);
    expect(res.stderr).toContain('vendor.com/class=name');
  });
});
