/**
 * BuildKit's frontend/dockerfile/dockerfile_cmd_test.go, ported against our CLI. Images the Go
 * tests push to a registry or containerd go to an OCI layout / archive here and are read back.
 */
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { unpackArchive } from '../helpers/build-fixture.js';
import { df, rig, type Rig } from './behaviours-rig.js';

const rigs: Rig[] = [];
afterAll(async () => {
  for (const r of rigs) await r.cleanup();
});
async function open(dockerfile: string): Promise<Rig> {
  const r = await rig({ Dockerfile: dockerfile });
  rigs.push(r);
  return r;
}
/** Builds to an OCI archive and returns the image config. */
async function imageConfig(r: Rig, args: string[] = []) {
  const archive = join(r.fx.dir, `img-${Math.random().toString(36).slice(2)}.tar`);
  const res = await r.cli(['-t', 'bk:latest', '-o', `type=oci,dest=${archive}`, ...args]);
  expect(res.exitCode, res.stderr).toBe(0);
  return (await unpackArchive(archive, `${archive}.d`)).config.config as { Cmd?: string[]; Entrypoint?: string[] };
}

describe('BuildKit CMD/ENTRYPOINT/SHELL (dockerfile_cmd_test.go)', () => {
  it('testCmdShell (the first image through an OCI layout instead of containerd)', async () => {
    const first = await open('FROM scratch\nCMD ["test"]\n');
    const layout = join(first.fx.dir, 'layout');
    const res = await first.cli(['-t', 'cmdoverridetest:latest', '-o', `type=oci,tar=false,dest=${layout}`]);
    expect(res.exitCode, res.stderr).toBe(0);
    const second = await open(`FROM oci-layout://${layout}:latest\nSHELL ["ls"]\nENTRYPOINT my entrypoint\n`);
    const config = await imageConfig(second, ['--allow', `fs.read=${first.fx.dir}`]);
    expect(config.Cmd ?? null).toBeNull();
    expect(config.Entrypoint).toEqual(['ls', 'my entrypoint']);
  });

  // its build is for windows/amd64 and linux/amd64 together, and asserts the Windows image's cmd /S /C
  it.skip('testDefaultShellAndPath — tsbuild builds Linux images only (--platform windows/amd64 is refused)', () => {});

  it.skip('testDefaultPathEnvOnWindows — Windows containers only', () => {});

  it('testIgnoreEntrypoint', async () => {
    const res = await (await open(df('FROM busybox\nENTRYPOINT ["/nosuchcmd"]\nRUN ["ls"]'))).local();
    expect(res.exitCode, res.stderr).toBe(0);
  });

  it('testInvalidJSONCommands (the second image read from an OCI archive, not a registry)', async () => {
    const bad = await (await open(df('FROM busybox\nRUN ["echo", "hello"]this is invalid'))).local();
    expect(bad.exitCode).not.toBe(0);
    expect(bad.stderr).toContain('this is invalid');
    const config = await imageConfig(await open(df('FROM busybox\nENTRYPOINT []random string')));
    expect(config.Entrypoint).toEqual(['/bin/sh', '-c', '[]random string']);
  });

  it('testDockerfileInvalidCommand', async () => {
    const res = await (await open(df('\tFROM busybox\n\tRUN invalidcmd'))).local();
    expect(res.exitCode).not.toBe(0);
    expect(res.stderr).toContain('/bin/sh -c invalidcmd');
    expect(res.stderr).toContain('did not complete successfully');
  });

  it('testDockerfileInvalidInstruction', async () => {
    const res = await (await open('FROM scratch\nFNTRYPOINT ["/bin/sh", "-c", "echo invalidinstruction"]\n')).local();
    expect(res.exitCode).not.toBe(0);
    expect(res.stderr).toContain('unknown instruction: FNTRYPOINT');
    expect(res.stderr).toContain('did you mean ENTRYPOINT?');
  });
});
