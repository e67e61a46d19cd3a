/**
 * Seccomp for RUN: Docker's default profile (seccomp/docker-default.json, kept as moby ships it)
 * turned into the runtime spec's `linux.seccomp` the way moby does it for `docker run` and
 * BuildKit for RUN: the host's architecture and its sub-architectures from `archMap`, and only
 * the syscall rules whose `includes` / `excludes` (capabilities in the bounding set,
 * architecture, minimum kernel) hold for this container.
 */
import { readFileSync } from 'node:fs';
import { release } from 'node:os';
import defaultProfile from './seccomp/docker-default.json' with { type: 'json' };

interface SeccompArg {
  index: number;
  value: number;
  valueTwo?: number;
  op: string;
}

interface Filter {
  caps?: string[];
  arches?: string[];
  minKernel?: string;
}

interface ProfileSyscall {
  name?: string;
  names?: string[];
  action: string;
  errnoRet?: number;
  args?: SeccompArg[] | null;
  comment?: string;
  includes?: Filter;
  excludes?: Filter;
}

/** moby's profile format (profiles/seccomp/seccomp.go), the parts tsbuild reads. */
export interface SeccompProfile {
  defaultAction: string;
  defaultErrnoRet?: number;
  architectures?: string[];
  archMap?: { architecture: string; subArchitectures: string[] | null }[];
  flags?: string[];
  syscalls: ProfileSyscall[];
}

/** The runtime spec's `linux.seccomp`. */
export interface LinuxSeccomp {
  defaultAction: string;
  defaultErrnoRet?: number;
  architectures?: string[];
  flags?: string[];
  syscalls: { names: string[]; action: string; errnoRet?: number; args?: SeccompArg[] }[];
}

export interface SeccompTarget {
  /** libseccomp's name of the host architecture, as the profile's `arches` filters spell it (amd64, arm64…). */
  arch: string;
  /** The container's bounding capability set. */
  caps: readonly string[];
  /** The running kernel's version, for `minKernel`. */
  kernel: { major: number; minor: number };
  /** Sub-architectures the kernel cannot run, left out of the filter. */
  omitArches?: readonly string[];
}

/** Node's process.arch → libseccomp's native name (moby's goToNative). */
const NODE_TO_NATIVE: Record<string, string> = {
  ia32: 'x86',
  x64: 'amd64',
  arm: 'arm',
  arm64: 'arm64',
  mips64el: 'mipsel64',
  mipsel: 'mipsel',
  ppc: 'ppc',
  ppc64: 'ppc64le',
  s390: 's390',
  s390x: 's390x',
  riscv64: 'riscv64',
  loong64: 'loong64',
};

/** libseccomp's native name → the runtime spec's architecture (moby's nativeToSeccomp). */
const NATIVE_TO_SPEC: Record<string, string> = {
  x86: 'SCMP_ARCH_X86',
  amd64: 'SCMP_ARCH_X86_64',
  arm: 'SCMP_ARCH_ARM',
  arm64: 'SCMP_ARCH_AARCH64',
  mips64: 'SCMP_ARCH_MIPS64',
  mips64n32: 'SCMP_ARCH_MIPS64N32',
  mipsel64: 'SCMP_ARCH_MIPSEL64',
  mips3l64n32: 'SCMP_ARCH_MIPSEL64N32',
  mipsle: 'SCMP_ARCH_MIPSEL',
  ppc: 'SCMP_ARCH_PPC',
  ppc64: 'SCMP_ARCH_PPC64',
  ppc64le: 'SCMP_ARCH_PPC64LE',
  s390: 'SCMP_ARCH_S390',
  s390x: 'SCMP_ARCH_S390X',
  riscv64: 'SCMP_ARCH_RISCV64',
  loong64: 'SCMP_ARCH_LOONGARCH64',
};

export function parseKernelVersion(text: string): { major: number; minor: number } {
  const m = /^(\d+)\.(\d+)/.exec(text);
  if (!m) throw new Error(`cannot read a kernel version from "${text}"`);
  return { major: Number(m[1]), minor: Number(m[2]) };
}

function kernelAtLeast(kernel: SeccompTarget['kernel'], min: string): boolean {
  const want = parseKernelVersion(min);
  return kernel.major > want.major || (kernel.major === want.major && kernel.minor >= want.minor);
}

/** Whether a rule applies to this container: every `includes` holds and no `excludes` does. */
function applies(rule: ProfileSyscall, target: SeccompTarget): boolean {
  const ex = rule.excludes ?? {};
  if (ex.arches?.includes(target.arch)) return false;
  if (ex.caps?.some((c) => target.caps.includes(c))) return false;
  if (ex.minKernel && kernelAtLeast(target.kernel, ex.minKernel)) return false;
  const inc = rule.includes ?? {};
  if (inc.arches?.length && !inc.arches.includes(target.arch)) return false;
  if (inc.caps?.some((c) => !target.caps.includes(c))) return false;
  if (inc.minKernel && !kernelAtLeast(target.kernel, inc.minKernel)) return false;
  return true;
}

export function profileToSpec(profile: SeccompProfile, target: SeccompTarget): LinuxSeccomp {
  if (profile.architectures?.length && profile.archMap?.length) {
    throw new Error("the seccomp profile names both 'architectures' and 'archMap'");
  }
  const out: LinuxSeccomp = { defaultAction: profile.defaultAction, syscalls: [] };
  if (profile.defaultErrnoRet !== undefined) out.defaultErrnoRet = profile.defaultErrnoRet;
  if (profile.flags?.length) out.flags = [...profile.flags];
  // With neither, libseccomp filters the native architecture only.
  const specArch = NATIVE_TO_SPEC[target.arch];
  const architectures = profile.architectures?.length
    ? [...profile.architectures]
    : (profile.archMap ?? [])
        .filter((a) => a.architecture === specArch)
        .flatMap((a) => [a.architecture, ...(a.subArchitectures ?? [])])
        .filter((a) => a === specArch || !target.omitArches?.includes(a));
  if (architectures.length) out.architectures = architectures;
  for (const rule of profile.syscalls) {
    if (!applies(rule, target)) continue;
    if (rule.name && rule.names?.length)
      throw new Error(`the seccomp profile gives both 'name' and 'names' for ${rule.name}`);
    const call: LinuxSeccomp['syscalls'][number] = {
      names: rule.name ? [rule.name] : [...(rule.names ?? [])],
      action: rule.action,
    };
    if (rule.errnoRet !== undefined) call.errnoRet = rule.errnoRet;
    if (rule.args?.length) call.args = rule.args.map((a) => ({ ...a }));
    out.syscalls.push(call);
  }
  return out;
}

export function hostSeccompArch(nodeArch: string = process.arch): string {
  return NODE_TO_NATIVE[nodeArch] ?? nodeArch;
}

/**
 * Whether the kernel has the x32 ABI, from its build config (/boot/config-RELEASE, else
 * /proc/config.gz); undefined when neither says. Distribution kernels build it out or switch it
 * off, and then an x32 syscall cannot succeed whatever the filter says. Each architecture in the
 * filter costs runc ~6 ms at every RUN's start (libseccomp compiles the rules once per arch).
 */
export function kernelHasX32(
  kernelRelease = release(),
  read: (path: string) => string | undefined = readConfig,
): boolean | undefined {
  const config = read(`/boot/config-${kernelRelease}`) ?? read('/proc/config.gz');
  if (config === undefined) return undefined;
  return /^CONFIG_X86_X32(_ABI)?=y$/m.test(config);
}

function readConfig(path: string): string | undefined {
  try {
    const raw = readFileSync(path);
    if (!path.endsWith('.gz')) return raw.toString('latin1');
    // zlib loads only here, once per process, and only where /boot has no config (Node >= 20.16)
    const zlib = process.getBuiltinModule?.('node:zlib') as typeof import('node:zlib') | undefined;
    return zlib?.gunzipSync(raw).toString('latin1');
  } catch {
    return undefined;
  }
}

const memo = new Map<string, LinuxSeccomp>();

/** Docker's default profile for a container with bounding set `caps`, on this host. */
export function defaultSeccomp(caps: readonly string[]): LinuxSeccomp {
  const key = caps.join(',');
  let spec = memo.get(key);
  if (!spec) {
    // x32 only where the kernel has it; where its config cannot be read, Docker's list as it is
    const omitArches = kernelHasX32() === false ? ['SCMP_ARCH_X32'] : [];
    spec = profileToSpec(defaultProfile as SeccompProfile, {
      arch: hostSeccompArch(),
      caps,
      kernel: parseKernelVersion(release()),
      omitArches,
    });
    memo.set(key, spec);
  }
  return spec;
}
