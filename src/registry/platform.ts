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
