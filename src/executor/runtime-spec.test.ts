import { describe, expect, it } from 'vitest';
import { runtimeSpec, SPEC_MOUNT_POINTS, toSpecJson, type RuntimeSpecInput } from './runtime-spec.js';

interface Spec {
  ociVersion: string;
  process: {
    terminal: boolean;
    user: { uid: number; gid: number; additionalGids?: number[] };
    args: string[];
    env: string[];
    cwd: string;
    capabilities: Record<string, string[]>;
    noNewPrivileges: boolean;
  };
  root: { path: string; readonly: boolean };
  hostname: string;
  mounts: { destination: string; type: string; source: string; options: string[] }[];
  linux: {
    namespaces: { type: string }[];
    maskedPaths: string[];
    readonlyPaths: string[];
    seccomp?: { defaultAction: string; syscalls: { names: string[] }[] };
    devices?: { path: string }[];
    resources?: { devices?: { allow: boolean; type?: string; access: string }[]; pids?: { limit: number } };
    cgroupsPath?: string;
  };
}

const input: RuntimeSpecInput = {
  rootfs: '/state/run/1/rootfs',
  args: ['/bin/sh', '-c', 'echo hi'],
  env: ['PATH=/usr/bin:/bin', 'A=1'],
  cwd: '/work',
  user: { uid: 1000, gid: 1000, additionalGids: [] },
  network: 'host',
  hostname: 'buildkitsandbox',
  hostsFile: '/state/run/1/hosts',
  resolvConf: '/etc/resolv.conf',
};
const spec = (over: Partial<RuntimeSpecInput> = {}) => runtimeSpec({ ...input, ...over }) as Spec;

describe('runtimeSpec', () => {
  it('rootless with host network binds the host /sys (sysfs cannot be mounted from a user namespace there)', () => {
    const sys = (s: Spec) => (s.mounts as { destination: string }[]).find((m) => m.destination === '/sys');
    expect(sys(spec())).toEqual({
      destination: '/sys',
      type: 'sysfs',
      source: 'sysfs',
      options: ['nosuid', 'noexec', 'nodev', 'ro'],
    });
    expect(sys(spec({ rootless: true }))).toEqual({
      destination: '/sys',
      type: 'none',
      source: '/sys',
      options: ['rbind', 'nosuid', 'noexec', 'nodev', 'ro'],
    });
    // its own network namespace, owned by the user namespace, may mount its own sysfs
    expect(sys(spec({ rootless: true, network: 'none' }))).toMatchObject({ type: 'sysfs' });
  });

  it('carries the process as given', () => {
    const s = spec();
    expect(s.ociVersion).toBe('1.0.2');
    expect(s.process.args).toEqual(input.args);
    expect(s.process.env).toEqual(input.env);
    expect(s.process.cwd).toBe('/work');
    expect(s.process.terminal).toBe(false);
    expect(s.process.user).toEqual({ uid: 1000, gid: 1000 });
    expect(s.root).toEqual({ path: '/state/run/1/rootfs', readonly: false });
    expect(s.hostname).toBe('buildkitsandbox');
  });

  it('adds additionalGids only when there are some', () => {
    expect(spec({ user: { uid: 1, gid: 2, additionalGids: [3, 4] } }).process.user).toEqual({
      uid: 1,
      gid: 2,
      additionalGids: [3, 4],
    });
    expect('additionalGids' in spec().process.user).toBe(false);
  });

  it('always has pid, ipc, uts and mount namespaces; host network shares the host network', () => {
    expect(spec().linux.namespaces.map((n) => n.type)).toEqual(['pid', 'ipc', 'uts', 'mount']);
  });

  it('network none adds a network namespace', () => {
    expect(spec({ network: 'none' }).linux.namespaces.map((n) => n.type)).toEqual([
      'pid',
      'ipc',
      'uts',
      'mount',
      'network',
    ]);
  });

  it('bind-mounts hosts and resolv.conf read-only from the given files', () => {
    const m = spec().mounts;
    expect(m.find((x) => x.destination === '/etc/hosts')).toEqual({
      destination: '/etc/hosts',
      type: 'bind',
      source: '/state/run/1/hosts',
      options: ['rbind', 'ro'],
    });
    expect(m.find((x) => x.destination === '/etc/resolv.conf')).toEqual({
      destination: '/etc/resolv.conf',
      type: 'bind',
      source: '/etc/resolv.conf',
      options: ['rbind', 'ro'],
    });
    expect(m.find((x) => x.destination === '/proc')?.type).toBe('proc');
    expect(m.find((x) => x.destination === '/sys')?.options).toContain('ro');
  });

  it('mounts /dev/pipes only when a pipes dir is given', () => {
    expect(spec().mounts.some((x) => x.destination === '/dev/pipes')).toBe(false);
    expect(spec({ pipesDir: '/tmp/p' }).mounts.find((x) => x.destination === '/dev/pipes')).toEqual({
      destination: '/dev/pipes',
      type: 'bind',
      source: '/tmp/p',
      options: ['rbind', 'ro'],
    });
  });

  it('every top-level mount destination in the rootfs is a declared mount point', () => {
    const dests = spec({ pipesDir: '/tmp/p' }).mounts.map((m) => m.destination);
    for (const mp of SPEC_MOUNT_POINTS) expect(dests).toContain(mp);
    // the others live under /dev, a tmpfs, so they never reach the layer
    for (const d of dests) expect(SPEC_MOUNT_POINTS.includes(d) || d.startsWith('/dev/')).toBe(true);
  });

  it("gives Docker's default capabilities, without SYS_ADMIN", () => {
    const caps = spec().process.capabilities;
    expect([...caps.bounding!].sort()).toEqual([
      'CAP_AUDIT_WRITE',
      'CAP_CHOWN',
      'CAP_DAC_OVERRIDE',
      'CAP_FOWNER',
      'CAP_FSETID',
      'CAP_KILL',
      'CAP_MKNOD',
      'CAP_NET_BIND_SERVICE',
      'CAP_NET_RAW',
      'CAP_SETFCAP',
      'CAP_SETGID',
      'CAP_SETPCAP',
      'CAP_SETUID',
      'CAP_SYS_CHROOT',
    ]);
    expect(caps.inheritable).toBeUndefined();
    expect(caps.ambient).toBeUndefined();
    expect(spec().process.noNewPrivileges).toBe(false);
    expect(caps.bounding).toContain('CAP_CHOWN');
    expect(caps.bounding).toContain('CAP_NET_BIND_SERVICE');
    expect(caps.bounding).not.toContain('CAP_SYS_ADMIN');
    expect(caps.effective).toEqual(caps.bounding);
    expect(caps.permitted).toEqual(caps.bounding);
    expect(spec().linux.maskedPaths).toContain('/proc/kcore');
    expect(spec().linux.readonlyPaths).toContain('/proc/sys');
  });

  it("filters syscalls with Docker's default seccomp profile", () => {
    const seccomp = spec().linux.seccomp!;
    expect(seccomp.defaultAction).toBe('SCMP_ACT_ERRNO');
    expect(seccomp.syscalls.some((s) => s.names.includes('read'))).toBe(true);
    expect(seccomp.syscalls.some((s) => s.names.includes('mount'))).toBe(false);
  });

  it('insecure: every capability in every set, no seccomp, nothing masked or read-only, /sys writable, all devices', () => {
    const caps = ['CAP_CHOWN', 'CAP_SYS_ADMIN', 'CAP_NET_ADMIN'];
    const s = spec({ security: 'insecure', insecureCaps: caps });
    for (const set of ['bounding', 'effective', 'permitted', 'inheritable', 'ambient'])
      expect(s.process.capabilities[set], set).toEqual(caps);
    expect(s.linux.seccomp).toBeUndefined();
    expect(s.linux.maskedPaths).toEqual([]);
    expect(s.linux.readonlyPaths).toEqual([]);
    expect(s.mounts.find((x) => x.destination === '/sys')?.options).toContain('rw');
    expect(s.linux.resources?.devices).toEqual([
      { allow: true, type: 'c', access: 'rwm' },
      { allow: true, type: 'b', access: 'rwm' },
    ]);
    expect(s.linux.devices?.map((d) => d.path)).toContain('/dev/fuse');
    // the default is the sandbox
    expect(spec({ security: 'sandbox' })).toEqual(spec());
  });

  it("puts the step in its own cgroup with a pids limit, and allows only runc's default devices", () => {
    const s = spec({ cgroupsPath: 'tsbuild-x-1', pidsLimit: 64 });
    expect(s.linux.cgroupsPath).toBe('tsbuild-x-1');
    expect(s.linux.resources?.pids).toEqual({ limit: 64 });
    expect(s.linux.resources?.devices).toEqual([{ allow: false, access: 'rwm' }]);
    expect(spec().linux.resources?.pids).toBeUndefined();
    expect(spec({ security: 'insecure', insecureCaps: [], pidsLimit: -1 }).linux.resources?.pids).toEqual({
      limit: -1,
    });
  });
});

describe('runtimeSpec terminal', () => {
  it('gives the process a terminal only when asked (tsbuild run -t)', () => {
    expect(spec().process.terminal).toBe(false);
    expect(spec({ terminal: true }).process.terminal).toBe(true);
  });
});

describe('runtimeSpec: --shm-size and --ulimit', () => {
  it('sizes /dev/shm in KiB (64 MiB by default) and writes rlimits as exact uint64s (-1: RLIM_INFINITY)', () => {
    const shm = (over: Partial<RuntimeSpecInput>) =>
      spec(over)
        .mounts.find((m) => m.destination === '/dev/shm')!
        .options.find((o) => o.startsWith('size='));
    expect(shm({})).toBe('size=65536k');
    expect(shm({ shmSize: 134217728 })).toBe('size=131072k');
    const json = toSpecJson(
      runtimeSpec({
        ...input,
        ulimits: [
          { name: 'nofile', soft: '1062', hard: '2048' },
          { name: 'core', soft: '-1', hard: '-1' },
        ],
      }),
    );
    expect(json).toContain('"rlimits":[{"type":"RLIMIT_NOFILE","hard":2048,"soft":1062}');
    expect(json).toContain('{"type":"RLIMIT_CORE","hard":18446744073709551615,"soft":18446744073709551615}');
    expect(JSON.parse(toSpecJson(spec())).process.rlimits).toBeUndefined();
  });

  it('rootless: the pids limit is RLIMIT_NPROC, unless --ulimit nproc sets its own', () => {
    const rlimits = (over: Partial<RuntimeSpecInput>) =>
      JSON.parse(toSpecJson(runtimeSpec({ ...input, rootless: true, ...over }))).process.rlimits;
    expect(rlimits({ nprocLimit: 4096 })).toEqual([{ type: 'RLIMIT_NPROC', hard: 4096, soft: 4096 }]);
    expect(rlimits({ nprocLimit: 64, ulimits: [{ name: 'nofile', soft: '10', hard: '20' }] })).toEqual([
      { type: 'RLIMIT_NOFILE', hard: 20, soft: 10 },
      { type: 'RLIMIT_NPROC', hard: 64, soft: 64 },
    ]);
    expect(rlimits({ nprocLimit: 64, ulimits: [{ name: 'nproc', soft: '7', hard: '9' }] })).toEqual([
      { type: 'RLIMIT_NPROC', hard: 9, soft: 7 },
    ]);
    // TSBUILD_PIDS_LIMIT=max
    expect(rlimits({ nprocLimit: -1 })).toBeUndefined();
  });
});

describe('runtimeSpec resources', () => {
  const resources = (over: Partial<RuntimeSpecInput>) =>
    (runtimeSpec({ ...input, ...over }) as { linux: { resources: Record<string, unknown> } }).linux.resources;

  it('puts memory and CPU limits into linux.resources beside the pids limit', () => {
    const r = resources({
      pidsLimit: 4096,
      resources: { memoryBytes: 32 << 20, nanoCpus: 1_500_000_000, cpuShares: 512, cpusetCpus: '0', cpusetMems: '0' },
      swapAccounted: true,
    });
    expect(r.pids).toEqual({ limit: 4096 });
    // dockerd: --memory alone allows as much swap again
    expect(r.memory).toEqual({ limit: 32 << 20, swap: 64 << 20 });
    expect(r.cpu).toEqual({ period: 100000, quota: 150000, shares: 512, cpus: '0', mems: '0' });
  });

  it('leaves swap out where the kernel does not account it, and takes --memory-swap as given', () => {
    expect(resources({ resources: { memoryBytes: 32 << 20 }, swapAccounted: false }).memory).toEqual({
      limit: 32 << 20,
    });
    expect(
      resources({ resources: { memoryBytes: 32 << 20, memorySwapBytes: -1 }, swapAccounted: true }).memory,
    ).toEqual({ limit: 32 << 20, swap: -1 });
  });

  it('takes --cpu-quota and --cpu-period as they are', () => {
    expect(resources({ resources: { cpuQuota: 25000, cpuPeriod: 50000 } }).cpu).toEqual({
      quota: 25000,
      period: 50000,
    });
  });

  it('has no memory or cpu section without limits', () => {
    const r = resources({ pidsLimit: 10 });
    expect(r.memory).toBeUndefined();
    expect(r.cpu).toBeUndefined();
  });
});

describe('stepCgroupsPath', () => {
  it('puts the step below --cgroup-parent, relative or absolute', async () => {
    const { stepCgroupsPath } = await import('./resources.js');
    expect(stepCgroupsPath('tsbuild-x', undefined)).toBe('tsbuild-x');
    expect(stepCgroupsPath('tsbuild-x', { cgroupParent: 'ci/job' })).toBe('ci/job/tsbuild-x');
    expect(stepCgroupsPath('tsbuild-x', { cgroupParent: '/ci/' })).toBe('/ci/tsbuild-x');
    expect(stepCgroupsPath('tsbuild-x', { cgroupParent: '/' })).toBe('/tsbuild-x');
  });
});
