import type { Descriptor, Platform } from '../image/types.js';

/**
 * Platform matching with containerd's rules (platforms.Normalize and platforms.Only), so an index
 * resolves to the manifest BuildKit would pick: exact match first, then the compatible fallbacks
 * (amd64/v3 → v2 → v1 → 386; arm64 → arm/v8 … arm/v5; arm/v7 → v6 → v5).
 */

export interface PlatformSpec {
  os: string;
  architecture: string;
  variant?: string;
}

/** The platform this process runs on, as OCI names it (node's `x64` is `amd64`). */
export function defaultPlatform(): PlatformSpec {
  return normalizePlatform({ os: 'linux', architecture: nodeArchToOci(process.arch) });
}

function nodeArchToOci(arch: string): string {
  switch (arch) {
    case 'x64':
      return 'amd64';
    case 'ia32':
      return '386';
    case 'ppc64':
      // node on Linux/ppc64 is little-endian in practice; big-endian ppc64 images are rare
      return 'ppc64le';
    default:
      return arch; // arm64, arm, s390x, riscv64, mips64el… are already OCI names
  }
}

export function normalizePlatform(p: PlatformSpec): PlatformSpec {
  const os = p.os.toLowerCase();
  let architecture = p.architecture.toLowerCase();
  let variant = p.variant?.toLowerCase() ?? '';
  switch (architecture) {
    case 'i386':
      architecture = '386';
      variant = '';
      break;
    case 'x86_64':
    case 'x86-64':
    case 'amd64':
      architecture = 'amd64';
      if (variant === 'v1') variant = '';
      break;
    case 'aarch64':
    case 'arm64':
      architecture = 'arm64';
      if (variant === '8' || variant === 'v8' || variant === 'v8.0') variant = '';
      else if (variant === '9' || variant === '9.0' || variant === 'v9.0') variant = 'v9';
      break;
    case 'armhf':
      architecture = 'arm';
      variant = 'v7';
      break;
    case 'armel':
      architecture = 'arm';
      variant = 'v6';
      break;
    case 'arm':
      if (variant === '' || variant === '7') variant = 'v7';
      else if (variant === '5' || variant === '6' || variant === '8') variant = `v${variant}`;
      break;
  }
  return variant ? { os, architecture, variant } : { os, architecture };
}

export function formatPlatform(p: PlatformSpec): string {
  return [p.os, p.architecture, p.variant].filter(Boolean).join('/');
}

/** containerd's platformVector: the platforms acceptable for `p`, best first. */
function compatibleVector(p: PlatformSpec): PlatformSpec[] {
  const vector: PlatformSpec[] = [p];
  const version = Number.parseInt((p.variant ?? '').replace(/^v/, ''), 10);
  switch (p.architecture) {
    case 'amd64':
      for (let v = Number.isNaN(version) ? 1 : version - 1; v >= 1; v--) {
        if (v > 1) vector.push({ os: p.os, architecture: 'amd64', variant: `v${v}` });
        else if (p.variant) vector.push({ os: p.os, architecture: 'amd64' });
      }
      vector.push({ os: p.os, architecture: '386' });
      break;
    case 'arm':
      for (let v = version - 1; v >= 5; v--) vector.push({ os: p.os, architecture: 'arm', variant: `v${v}` });
      break;
    case 'arm64':
      vector.push(...compatibleVector({ os: p.os, architecture: 'arm', variant: p.variant || 'v8' }));
      break;
  }
  return vector;
}

function samePlatform(a: PlatformSpec, b: PlatformSpec): boolean {
  return a.os === b.os && a.architecture === b.architecture && (a.variant ?? '') === (b.variant ?? '');
}

/**
 * Picks the index entry to use for `wanted`, or undefined when nothing fits. Among equally good
 * entries the first in the index wins, as in containerd. An entry without a platform is taken
 * only when no entry names a compatible platform.
 */
export function selectManifest(manifests: readonly Descriptor[], wanted: PlatformSpec): Descriptor | undefined {
  const vector = compatibleVector(normalizePlatform(wanted));
  let best: Descriptor | undefined;
  let bestRank = Infinity;
  for (const d of manifests) {
    let rank: number;
    if (!d.platform) rank = vector.length;
    else {
      const candidate = normalizePlatform(d.platform as Platform);
      rank = vector.findIndex((v) => samePlatform(v, candidate));
      if (rank === -1) continue;
    }
    if (rank < bestRank) {
      best = d;
      bestRank = rank;
    }
  }
  return best;
}

/** Architectures containerd's Parse takes without an OS (`arm64` is `linux/arm64`). */
const KNOWN_ARCHES = new Set([
  '386',
  'amd64',
  'arm',
  'arm64',
  'aarch64',
  'armhf',
  'armel',
  'i386',
  'x86_64',
  'x86-64',
  'ppc64le',
  'ppc64',
  's390x',
  'riscv64',
  'mips64le',
  'mips64',
  'loong64',
  'wasm',
]);

const KNOWN_OSES = new Set(['linux', 'windows', 'darwin', 'freebsd', 'netbsd', 'openbsd', 'solaris', 'illumos']);

/**
 * One `--platform` value, as containerd's platforms.Parse reads it: `os/arch[/variant]`, a bare
 * architecture (`arm64`: `linux/arm64`), `arch/variant` (`arm/v7`), a bare OS (`linux`: the host's architecture), or
 * `local` (the host). Normalised, so `linux/aarch64` and `linux/arm64/v8` are both `linux/arm64`.
 * Undefined when it is none of these.
 */
export function parsePlatform(value: string): PlatformSpec | undefined {
  const spec = value.trim().toLowerCase();
  if (spec === 'local') return defaultPlatform();
  const parts = spec.split('/');
  if (parts.some((p) => !/^[a-z0-9_.-]+$/.test(p)) || parts.length > 3) return undefined;
  if (parts.length === 1) {
    const [one] = parts as [string];
    if (KNOWN_ARCHES.has(one)) return normalizePlatform({ os: 'linux', architecture: one });
    if (KNOWN_OSES.has(one)) return normalizePlatform({ os: one, architecture: defaultPlatform().architecture });
    return undefined;
  }
  // `arm/v7`: an architecture and its variant, on Linux (containerd reads it so)
  if (parts.length === 2 && KNOWN_ARCHES.has(parts[0]!))
    return normalizePlatform({ os: 'linux', architecture: parts[0]!, variant: parts[1]! });
  const [os, architecture, variant] = parts as [string, string, string | undefined];
  if (!KNOWN_OSES.has(os) || !KNOWN_ARCHES.has(architecture)) return undefined;
  return normalizePlatform({ os, architecture, ...(variant ? { variant } : {}) });
}

/** Whether two platforms are the same once normalised (`linux/arm64/v8` is `linux/arm64`). */
export function platformsEqual(a: PlatformSpec, b: PlatformSpec): boolean {
  return samePlatform(normalizePlatform(a), normalizePlatform(b));
}

/** buildx's name of a platform's subdirectory in a local or tar output: `linux_arm64`, `linux_arm_v7`. */
export function platformDirName(p: PlatformSpec): string {
  return formatPlatform(normalizePlatform(p)).replaceAll('/', '_');
}
