/** The OCI runtime spec (config.json) tsbuild hands to runc for one RUN. */
import { randomBytes } from 'node:crypto';
import { ownCaps } from './capabilities.js';
import { resourcesSpec, type StepResources } from './resources.js';
import { defaultSeccomp } from './seccomp.js';
import type { ResolvedUser } from './user.js';

/** One entry of the spec's `mounts`. */
export interface OciMount {
  destination: string;
  type: string;
  source: string;
  options: string[];
}

export interface RuntimeSpecInput {
  rootfs: string;
  /** Options of an overlay runc mounts at / over `rootfs` (an empty dir) before anything else. */
  rootOverlay?: string[];
  args: string[];
  env: string[];
  cwd: string;
  user: ResolvedUser;
  network: 'host' | 'none';
  hostname: string;
  hostsFile: string;
  resolvConf: string;
  /** Host dir bind-mounted read-only at /dev/pipes (heredoc scripts). */
  pipesDir?: string;
  /** RUN --mount mounts, after the standard ones. */
  extraMounts?: OciMount[];
  /** RUN --security: `insecure` lifts seccomp, masked and read-only paths, and grants every capability. */
  security?: 'sandbox' | 'insecure';
  /** The capabilities `insecure` grants; by default all this process has. */
  insecureCaps?: string[];
  /**
   * Rootless mode (runc in a user namespace): sysfs cannot be mounted in the host's network
   * namespace from there, so with host network /sys is the host's, bound (as runc's rootless spec
   * does); with network none the step's own namespace lets it mount a fresh one.
   */
  rootless?: boolean;
  /** The step's own cgroup (runc makes it, and removes it with the container); relative to runc's own. */
  cgroupsPath?: string;
  /** pids.max of that cgroup; -1 is no limit. */
  pidsLimit?: number;
  /** The build's memory and CPU limits for that cgroup; swap is limited only where the kernel accounts it. */
  resources?: StepResources;
  swapAccounted?: boolean;
  /** The process gets a terminal (runc makes a pty; `tsbuild run -t`). */
  terminal?: boolean;
  /** Bytes of /dev/shm (default 64 MiB, as BuildKit). */
  shmSize?: number;
  /** `--ulimit`: process rlimits (`nofile` → RLIMIT_NOFILE); values as decimal strings, -1 unlimited. */
  ulimits?: { name: string; soft: string; hard: string }[];
  /**
   * Rootless mode's pids limit, which has no cgroup to live in: RLIMIT_NPROC of the step's
   * process, unless `--ulimit nproc` sets one (see rootlessRlimits).
   */
  nprocLimit?: number;
}

/** RLIM_INFINITY: what -1 means in docker's ulimit syntax. */
const RLIM_INFINITY = 18446744073709551615n;

/** A limit as the spec's uint64; past 2^53 a JS number would round, so the caller writes these with toSpecJson. */
function rlimitValue(v: string): bigint {
  const n = BigInt(v);
  return n < 0n ? RLIM_INFINITY : n;
}

/**
 * `process.rlimits`: the `--ulimit`s, and in rootless mode RLIMIT_NPROC as the pids limit. The
 * kernel counts RLIMIT_NPROC per user per user namespace (ucounts, 5.15+): a step running as root
 * of the build's namespace shares its count with tsbuild's own processes and threads there, a
 * step as another USER counts that uid's processes alone; a fork fails with EAGAIN past it, as
 * past a cgroup's pids.max. Root of the namespace holds no CAP_SYS_RESOURCE over the host, so the
 * limit binds it.
 */
function rlimitsSpec(input: RuntimeSpecInput): { rlimits?: object[] } {
  const rlimits: { type: string; hard: bigint; soft: bigint }[] = (input.ulimits ?? []).map((u) => ({
    type: `RLIMIT_${u.name.toUpperCase()}`,
    hard: rlimitValue(u.hard),
    soft: rlimitValue(u.soft),
  }));
  const nproc = input.nprocLimit;
  if (nproc !== undefined && nproc > 0 && !rlimits.some((r) => r.type === 'RLIMIT_NPROC'))
    rlimits.push({ type: 'RLIMIT_NPROC', hard: BigInt(nproc), soft: BigInt(nproc) });
  return rlimits.length ? { rlimits } : {};
}

/** The spec as config.json: JSON, with the bigint rlimits written as exact integers. */
export function toSpecJson(spec: object): string {
  // a marker no argument or variable of the spec can hold by chance
  const mark = `bigint-${randomBytes(8).toString('hex')}:`;
  return JSON.stringify(spec, (_k, v: unknown) => (typeof v === 'bigint' ? `${mark}${v}` : v)).replace(
    new RegExp(`"${mark}(\\d+)"`, 'g'),
    '$1',
  );
}

/**
 * Docker's default capability set, which BuildKit also gives RUN (containerd's default spec), in
 * the bounding, effective and permitted sets, none inheritable or ambient, the same for every USER.
 */
export const DEFAULT_CAPS = [
  'CAP_CHOWN',
  'CAP_DAC_OVERRIDE',
  'CAP_FSETID',
  'CAP_FOWNER',
  'CAP_MKNOD',
  'CAP_NET_RAW',
  'CAP_SETGID',
  'CAP_SETUID',
  'CAP_SETFCAP',
  'CAP_SETPCAP',
  'CAP_NET_BIND_SERVICE',
  'CAP_SYS_CHROOT',
  'CAP_KILL',
  'CAP_AUDIT_WRITE',
];

const MASKED_PATHS = [
  '/proc/acpi',
  '/proc/asound',
  '/proc/kcore',
  '/proc/keys',
  '/proc/latency_stats',
  '/proc/timer_list',
  '/proc/timer_stats',
  '/proc/sched_debug',
  '/proc/scsi',
  '/sys/firmware',
  '/sys/devices/virtual/powercap',
];
const READONLY_PATHS = ['/proc/bus', '/proc/fs', '/proc/irq', '/proc/sys', '/proc/sysrq-trigger'];

/** Device nodes BuildKit's insecure mode adds (security.WithInsecureSpec), for FUSE, loop mounts, TUN, KVM. */
const INSECURE_DEVICES = [
  { path: '/dev/kmsg', type: 'c', major: 1, minor: 11 },
  { path: '/dev/cuse', type: 'c', major: 10, minor: 203 },
  { path: '/dev/fuse', type: 'c', major: 10, minor: 229 },
  { path: '/dev/kvm', type: 'c', major: 10, minor: 232 },
  { path: '/dev/net/tun', type: 'c', major: 10, minor: 200 },
  { path: '/dev/loop-control', type: 'c', major: 10, minor: 237 },
  ...Array.from({ length: 8 }, (_, i) => ({ path: `/dev/loop${i}`, type: 'b', major: 7, minor: i })),
];

/** Mount points the spec adds inside the rootfs; runc creates any that are missing (see mount-stubs). */
export const SPEC_MOUNT_POINTS = ['/proc', '/dev', '/sys', '/etc/hosts', '/etc/resolv.conf'];

/**
 * The sandbox's security settings, or BuildKit's insecure mode: every capability in every set,
 * no seccomp, nothing masked or read-only, /sys writable, every device allowed.
 */
function securitySettings(input: RuntimeSpecInput): {
  capabilities: object;
  linux: object;
  devices: object[];
  sysfs: string;
} {
  if (input.security !== 'insecure') {
    return {
      capabilities: { bounding: DEFAULT_CAPS, effective: DEFAULT_CAPS, permitted: DEFAULT_CAPS },
      linux: { maskedPaths: MASKED_PATHS, readonlyPaths: READONLY_PATHS, seccomp: defaultSeccomp(DEFAULT_CAPS) },
      // no device but runc's defaults (null, zero, tty, …), as containerd's default spec
      devices: [{ allow: false, access: 'rwm' }],
      sysfs: 'ro',
    };
  }
  const caps = input.insecureCaps ?? ownCaps();
  return {
    capabilities: { bounding: caps, effective: caps, permitted: caps, inheritable: caps, ambient: caps },
    linux: {
      maskedPaths: [],
      readonlyPaths: [],
      devices: INSECURE_DEVICES.map((d) => ({ ...d, fileMode: 0o660, uid: 0, gid: 0 })),
    },
    devices: [
      { allow: true, type: 'c', access: 'rwm' },
      { allow: true, type: 'b', access: 'rwm' },
    ],
    sysfs: 'rw',
  };
}

export function runtimeSpec(input: RuntimeSpecInput): object {
  const security = securitySettings(input);
  const namespaces: { type: string }[] = [{ type: 'pid' }, { type: 'ipc' }, { type: 'uts' }, { type: 'mount' }];
  if (input.network === 'none') namespaces.push({ type: 'network' });
  const mounts: object[] = [
    ...(input.rootOverlay
      ? [{ destination: '/', type: 'overlay', source: 'overlay', options: input.rootOverlay }]
      : []),
    { destination: '/proc', type: 'proc', source: 'proc', options: ['nosuid', 'noexec', 'nodev'] },
    {
      destination: '/dev',
      type: 'tmpfs',
      source: 'tmpfs',
      options: ['nosuid', 'strictatime', 'mode=755', 'size=65536k'],
    },
    {
      destination: '/dev/pts',
      type: 'devpts',
      source: 'devpts',
      options: ['nosuid', 'noexec', 'newinstance', 'ptmxmode=0666', 'mode=0620', 'gid=5'],
    },
    {
      destination: '/dev/shm',
      type: 'tmpfs',
      source: 'shm',
      options: [
        'nosuid',
        'noexec',
        'nodev',
        'mode=1777',
        `size=${input.shmSize !== undefined ? Math.floor(input.shmSize / 1024) : 65536}k`,
      ],
    },
    { destination: '/dev/mqueue', type: 'mqueue', source: 'mqueue', options: ['nosuid', 'noexec', 'nodev'] },
    input.rootless && input.network !== 'none'
      ? {
          destination: '/sys',
          type: 'none',
          source: '/sys',
          options: ['rbind', 'nosuid', 'noexec', 'nodev', security.sysfs],
        }
      : { destination: '/sys', type: 'sysfs', source: 'sysfs', options: ['nosuid', 'noexec', 'nodev', security.sysfs] },
    { destination: '/etc/hosts', type: 'bind', source: input.hostsFile, options: ['rbind', 'ro'] },
    { destination: '/etc/resolv.conf', type: 'bind', source: input.resolvConf, options: ['rbind', 'ro'] },
  ];
  if (input.pipesDir)
    mounts.push({ destination: '/dev/pipes', type: 'bind', source: input.pipesDir, options: ['rbind', 'ro'] });
  mounts.push(...(input.extraMounts ?? []));
  return {
    ociVersion: '1.0.2',
    process: {
      terminal: input.terminal === true,
      user: {
        uid: input.user.uid,
        gid: input.user.gid,
        ...(input.user.additionalGids.length ? { additionalGids: input.user.additionalGids } : {}),
      },
      args: input.args,
      env: input.env,
      cwd: input.cwd,
      capabilities: security.capabilities,
      // as BuildKit (oci.WithNewPrivileges): setuid programs such as sudo or su work in RUN
      noNewPrivileges: false,
      ...rlimitsSpec(input),
    },
    root: { path: input.rootfs, readonly: false },
    hostname: input.hostname,
    mounts,
    linux: {
      namespaces,
      ...security.linux,
      ...(input.cgroupsPath ? { cgroupsPath: input.cgroupsPath } : {}),
      resources: {
        devices: security.devices,
        ...(input.pidsLimit !== undefined ? { pids: { limit: input.pidsLimit } } : {}),
        ...(input.resources ? resourcesSpec(input.resources, input.swapAccounted === true) : {}),
      },
    },
  };
}
