import { EnvironmentError } from '../errors.js';

/** The Debian (and Ubuntu) package that installs each system tool tsbuild starts. */
const PACKAGES: Record<string, string> = {
  runc: 'runc',
  getfattr: 'attr',
  setfattr: 'attr',
  mount: 'mount',
  umount: 'mount',
  zstd: 'zstd',
  git: 'git',
  tar: 'tar',
  xz: 'xz-utils',
  bzip2: 'bzip2',
  mknod: 'coreutils',
  rm: 'coreutils',
  cp: 'coreutils',
  perl: 'perl-base',
  sh: 'dash',
  bash: 'bash',
  chattr: 'e2fsprogs',
  dmesg: 'util-linux',
  unshare: 'util-linux',
  setpriv: 'util-linux',
  newuidmap: 'uidmap',
  newgidmap: 'uidmap',
};

export function debianPackageOf(cmd: string): string | undefined {
  return PACKAGES[cmd];
}

/**
 * A system tool that could not be started because it is not there: the machine's to fix, so an
 * EnvironmentError naming the tool and its package. `why`, if given, says what needs the tool.
 */
export function missingTool(cmd: string, opts: { why?: string; cause?: unknown } = {}): EnvironmentError {
  const pkg = PACKAGES[cmd];
  return new EnvironmentError(`${cmd} is not installed (or not on PATH)${opts.why ? `: ${opts.why}` : ''}`, {
    hint: `${pkg ? `install it (apt-get install ${pkg}) ` : 'install it '}or add the directory that holds it to PATH`,
    ...(opts.cause !== undefined ? { cause: opts.cause } : {}),
  });
}
