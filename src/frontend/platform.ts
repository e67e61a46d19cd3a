/** The host platform in OCI terms, and the predefined platform ARGs BuildKit sets from it. */
export interface PlatformSpec {
  os: string;
  architecture: string;
  variant?: string;
}

export function hostPlatform(): PlatformSpec {
  const arch =
    (
      {
        x64: 'amd64',
        arm64: 'arm64',
        arm: 'arm',
        ia32: '386',
        ppc64: 'ppc64le',
        s390x: 's390x',
        riscv64: 'riscv64',
      } as Record<string, string>
    )[process.arch] ?? process.arch;
  const platform: PlatformSpec = { os: 'linux', architecture: arch };
  if (arch === 'arm64') platform.variant = 'v8';
  return platform;
}

export function formatPlatform(p: PlatformSpec): string {
  return [p.os, p.architecture, p.variant].filter(Boolean).join('/');
}

/**
 * BUILDPLATFORM/TARGETPLATFORM and their parts, as BuildKit predefines them: the build platform is
 * always the host (steps run natively unless a stage asks for another), the target the one being built.
 */
export function platformArgs(
  target: PlatformSpec = hostPlatform(),
  build: PlatformSpec = hostPlatform(),
): Map<string, string> {
  const args = new Map<string, string>();
  for (const [prefix, p] of [
    ['BUILD', build],
    ['TARGET', target],
  ] as const) {
    args.set(`${prefix}PLATFORM`, formatPlatform(p));
    args.set(`${prefix}OS`, p.os);
    args.set(`${prefix}ARCH`, p.architecture);
    args.set(`${prefix}VARIANT`, p.variant ?? '');
  }
  return args;
}

/** Proxy ARGs usable without declaration and kept out of history (BuildKit's allow-list). */
export const PROXY_ARGS = new Set([
  'HTTP_PROXY',
  'http_proxy',
  'HTTPS_PROXY',
  'https_proxy',
  'FTP_PROXY',
  'ftp_proxy',
  'NO_PROXY',
  'no_proxy',
  'ALL_PROXY',
  'all_proxy',
]);
