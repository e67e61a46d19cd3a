import { describe, expect, it } from 'vitest';
import profile from './seccomp/docker-default.json' with { type: 'json' };
import { DEFAULT_CAPS } from './runtime-spec.js';
import {
  hostSeccompArch,
  kernelHasX32,
  parseKernelVersion,
  profileToSpec,
  type LinuxSeccomp,
  type SeccompProfile,
} from './seccomp.js';

const kernel = { major: 6, minor: 1 };
const amd64 = (caps: readonly string[], k = kernel): LinuxSeccomp =>
  profileToSpec(profile as SeccompProfile, { arch: 'amd64', caps, kernel: k });
const allowed = (spec: LinuxSeccomp, name: string): boolean =>
  spec.syscalls.some((s) => s.names.includes(name) && s.action === 'SCMP_ACT_ALLOW' && !s.args);

describe('Docker default seccomp profile → runtime spec', () => {
  it('denies by default with EPERM and filters the host arch with its sub-architectures', () => {
    const spec = amd64(DEFAULT_CAPS);
    expect(spec.defaultAction).toBe('SCMP_ACT_ERRNO');
    expect(spec.defaultErrnoRet).toBe(1);
    expect(spec.architectures).toEqual(['SCMP_ARCH_X86_64', 'SCMP_ARCH_X86', 'SCMP_ARCH_X32']);
    expect(profileToSpec(profile as SeccompProfile, { arch: 'arm64', caps: [], kernel }).architectures).toEqual([
      'SCMP_ARCH_AARCH64',
      'SCMP_ARCH_ARM',
    ]);
    expect(profileToSpec(profile as SeccompProfile, { arch: 'riscv64', caps: [], kernel }).architectures).toEqual([
      'SCMP_ARCH_RISCV64',
    ]);
  });

  it('leaves x32 out where the kernel cannot run it, and only then', () => {
    const spec = profileToSpec(profile as SeccompProfile, {
      arch: 'amd64',
      caps: DEFAULT_CAPS,
      kernel,
      omitArches: ['SCMP_ARCH_X32'],
    });
    expect(spec.architectures).toEqual(['SCMP_ARCH_X86_64', 'SCMP_ARCH_X86']);
    const config = (text: string | undefined) => (path: string) => (path.startsWith('/boot/') ? text : undefined);
    expect(kernelHasX32('6.1.0', config('CONFIG_X86_64=y\n# CONFIG_X86_X32_ABI is not set\n'))).toBe(false);
    expect(kernelHasX32('6.1.0', config('CONFIG_X86_X32_ABI=y\n'))).toBe(true);
    expect(kernelHasX32('4.19.0', config('CONFIG_X86_X32=y\n'))).toBe(true);
    expect(kernelHasX32('6.1.0', config(undefined))).toBeUndefined();
  });

  it('allows mount, unshare, setns and clone of any kind only with CAP_SYS_ADMIN', () => {
    const sandbox = amd64(DEFAULT_CAPS);
    for (const name of ['mount', 'umount2', 'unshare', 'setns', 'clone', 'bpf'])
      expect(allowed(sandbox, name), name).toBe(false);
    // without CAP_SYS_ADMIN, clone only without namespace flags, and clone3 fails with ENOSYS so libc falls back to clone
    const clone = sandbox.syscalls.filter((s) => s.names.includes('clone'));
    expect(clone).toEqual([
      { names: ['clone'], action: 'SCMP_ACT_ALLOW', args: [{ index: 0, value: 2114060288, op: 'SCMP_CMP_MASKED_EQ' }] },
    ]);
    expect(sandbox.syscalls.find((s) => s.names.includes('clone3'))).toEqual({
      names: ['clone3'],
      action: 'SCMP_ACT_ERRNO',
      errnoRet: 38,
    });

    const admin = amd64([...DEFAULT_CAPS, 'CAP_SYS_ADMIN']);
    for (const name of ['mount', 'umount2', 'unshare', 'setns', 'clone', 'clone3'])
      expect(allowed(admin, name), name).toBe(true);
    expect(admin.syscalls.some((s) => s.action === 'SCMP_ACT_ERRNO')).toBe(false);
  });

  it('grants the default set what Docker grants it: chroot, not ptrace of others nor module loading', () => {
    const spec = amd64(DEFAULT_CAPS);
    expect(allowed(spec, 'chroot')).toBe(true);
    expect(allowed(spec, 'init_module')).toBe(false);
    expect(allowed(spec, 'kcmp')).toBe(false);
    expect(allowed(spec, 'reboot')).toBe(false);
    expect(allowed(spec, 'arch_prctl')).toBe(true);
    expect(allowed(spec, 'riscv_flush_icache')).toBe(false);
    expect(allowed(amd64([]), 'chroot')).toBe(false);
  });

  it('applies minKernel: ptrace is allowed from 4.8 on', () => {
    expect(allowed(amd64(DEFAULT_CAPS, { major: 4, minor: 8 }), 'ptrace')).toBe(true);
    expect(allowed(amd64(DEFAULT_CAPS, { major: 4, minor: 4 }), 'ptrace')).toBe(false);
    expect(allowed(amd64(DEFAULT_CAPS, { major: 3, minor: 10 }), 'ptrace')).toBe(false);
  });

  it('keeps argument filters: socket is allowed except for AF_VSOCK', () => {
    const socket = amd64(DEFAULT_CAPS).syscalls.filter((s) => s.names.includes('socket'));
    expect(socket).toEqual([
      { names: ['socket'], action: 'SCMP_ACT_ALLOW', args: [{ index: 0, value: 40, op: 'SCMP_CMP_NE' }] },
    ]);
  });

  it('refuses a profile that names both architectures and archMap, or both name and names', () => {
    const p: SeccompProfile = {
      defaultAction: 'SCMP_ACT_ERRNO',
      architectures: ['SCMP_ARCH_X86_64'],
      archMap: [{ architecture: 'SCMP_ARCH_X86_64', subArchitectures: null }],
      syscalls: [],
    };
    expect(() => profileToSpec(p, { arch: 'amd64', caps: [], kernel })).toThrow(/both/);
    const q: SeccompProfile = {
      defaultAction: 'SCMP_ACT_ERRNO',
      syscalls: [{ name: 'read', names: ['write'], action: 'SCMP_ACT_ALLOW' }],
    };
    expect(() => profileToSpec(q, { arch: 'amd64', caps: [], kernel })).toThrow(/both/);
  });

  it('maps Node architectures and reads kernel releases', () => {
    expect(hostSeccompArch('x64')).toBe('amd64');
    expect(hostSeccompArch('arm64')).toBe('arm64');
    expect(hostSeccompArch('ppc64')).toBe('ppc64le');
    expect(parseKernelVersion('6.18.44-fc-v1300')).toEqual({ major: 6, minor: 18 });
    expect(() => parseKernelVersion('x')).toThrow();
  });
});
