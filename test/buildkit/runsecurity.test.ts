/**
 * BuildKit's frontend/dockerfile/dockerfile_runsecurity_test.go against our CLI: the capability
 * bounding set of a RUN by its --security mode. BuildKit's sandboxes run these once with
 * security.insecure granted by the daemon and once denied; `--allow security.insecure` is that grant here.
 */
import { readFileSync } from 'node:fs';
import { afterAll, describe, expect, it } from 'vitest';
import { df, rig, type Rig } from './behaviours-rig.js';

const rigs: Rig[] = [];
afterAll(async () => {
  for (const r of rigs) await r.cleanup();
});
async function build(dockerfile: string, args: string[]) {
  const r = await rig({ Dockerfile: df(dockerfile) });
  rigs.push(r);
  return r.cli(args);
}

// docker's default capability set, as a RUN sees it without --security=insecure
const DEFAULT_CAPS = `RUN [ "$(cat /proc/self/status | grep CapBnd)" == "CapBnd:	00000000a80425fb" ]`;

/**
 * BuildKit's test expects all 38 capabilities (3fffffffff) under --security=insecure; a RUN can hold
 * no more than this machine's own bounding set (this sandbox lacks CAP_SYS_RESOURCE), so the test
 * expects that set, cut to the same 38 bits.
 */
const HOST_CAPS = (
  BigInt(`0x${/CapBnd:\s*([0-9a-f]+)/.exec(readFileSync('/proc/self/status', 'utf8'))![1]}`) & 0x3fffffffffn
).toString(16);

describe('BuildKit RUN --security (dockerfile_runsecurity_test.go)', () => {
  it('testRunSecurityInsecure: every capability under --security=insecure, the default set after it', async () => {
    const dockerfile = `
FROM busybox
RUN --security=insecure [ "$(printf '%x' $(( $(cat /proc/self/status | grep CapBnd | cut -f 2 | sed s#^#0x#) & 0x3fffffffff)))" == "${HOST_CAPS}" ]
${DEFAULT_CAPS}`;
    const granted = await build(dockerfile, ['--allow', 'security.insecure']);
    expect(granted.exitCode, granted.stderr).toBe(0);
    // BuildKit's denied sandbox is a daemon that refuses the grant ("granting entitlement
    // security.insecure is not allowed by build daemon configuration"); with no daemon here, the
    // refusal is a build without --allow, in BuildKit's words for an entitlement not granted
    const denied = await build(dockerfile, []);
    expect(denied.exitCode).not.toBe(0);
    expect(denied.stderr).toContain('security.insecure is not allowed');
  });

  it('testRunSecuritySandbox: --security=sandbox keeps the default set', async () => {
    const res = await build(
      `
FROM busybox
RUN --security=sandbox [ "$(cat /proc/self/status | grep CapBnd)" == "CapBnd:	00000000a80425fb" ]`,
      [],
    );
    expect(res.exitCode, res.stderr).toBe(0);
  });

  it('testRunSecurityDefault: a RUN without --security has the default set, granted or not', async () => {
    const dockerfile = `
FROM busybox
${DEFAULT_CAPS}`;
    const granted = await build(dockerfile, ['--allow', 'security.insecure']);
    expect(granted.exitCode, granted.stderr).toBe(0);
    const plain = await build(dockerfile, []);
    expect(plain.exitCode, plain.stderr).toBe(0);
  });

  // BuildKit's test also mounts a FUSE filesystem (hellofs from the tonistiigi/hellofs image, with
  // fuse installed by apk): neither is reachable here, so the FUSE step is left out; busybox's
  // mke2fs stands for e2fsprogs' mkfs.ext4
  it('testInsecureDevicesWhitelist: /dev/fuse and /dev/loop-control only under --security=insecure', async () => {
    const dockerfile = `
FROM busybox
RUN [ ! -e /dev/fuse ] && [ ! -e /dev/loop-control ]
RUN --security=insecure [ -c /dev/fuse ] && [ -c /dev/loop-control ]
RUN --security=insecure dmesg > /dev/null
# testing loopbacks
RUN --security=insecure ls -l /dev && dd if=/dev/zero of=disk.img bs=20M count=1 && \\
  mke2fs -F disk.img && mkdir -p /mnt && \\
  mount -o loop disk.img /mnt && touch /mnt/foo && \\
  umount /mnt && \\
  rm disk.img`;
    const granted = await build(dockerfile, ['--allow', 'security.insecure']);
    expect(granted.exitCode, granted.stderr).toBe(0);
    const denied = await build(dockerfile, []);
    expect(denied.exitCode).not.toBe(0);
    expect(denied.stderr).toContain('security.insecure is not allowed');
  });
});
