import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { EnvironmentError } from '../errors.js';

/** Where the kernel lists its binfmt_misc handlers. */
export const BINFMT_DIR = '/proc/sys/fs/binfmt_misc';

/** The name QEMU (and so its binfmt_misc handler, `qemu-<name>`) gives each OCI architecture. */
const QEMU_ARCH: Record<string, string> = {
  amd64: 'x86_64',
  '386': 'i386',
  arm64: 'aarch64',
  arm: 'arm',
  ppc64le: 'ppc64le',
  ppc64: 'ppc64',
  s390x: 's390x',
  riscv64: 'riscv64',
  mips64le: 'mips64el',
  mips64: 'mips64',
  loong64: 'loongarch64',
};

/** Architectures a CPU of the key's runs without an emulator (x86-64 runs i386 code; most arm64 runs arm). */
const NATIVE_TOO: Record<string, string[]> = { amd64: ['386'], arm64: ['arm'] };

/**
 * Checks that a RUN for `platform` (`linux/arm64`) can run on a host of `hostArch`: natively, or
 * through an enabled binfmt_misc handler for its architecture with the F flag (the kernel opens
 * the emulator when the handler is registered, so it works inside the container's rootfs, where
 * no emulator is). The runtime spec needs nothing else. Otherwise an EnvironmentError saying
 * what to install and how to look. `dir` is for tests.
 */
export async function checkEmulator(platform: string, hostArch: string, dir = BINFMT_DIR): Promise<void> {
  const arch = platform.split('/')[1] ?? '';
  if (arch === hostArch || NATIVE_TOO[hostArch]?.includes(arch)) return;
  const qemu = QEMU_ARCH[arch] ?? arch;
  const look = `ls ${dir} (a qemu-${qemu} entry) and cat ${dir}/qemu-${qemu} ("enabled", flags with F)`;
  const names = await readdir(dir).catch(() => [] as string[]);
  if (!names.includes('status')) {
    throw new EnvironmentError(`RUN for ${platform} needs an emulator, and binfmt_misc is not mounted at ${dir}`, {
      hint: `mount it (mount -t binfmt_misc binfmt_misc ${dir}), install qemu-user-static, then check: ${look}`,
    });
  }
  const handler = names.find((n) => n === `qemu-${qemu}`) ?? names.find((n) => n.endsWith(`-${qemu}`));
  const text = handler ? await readFile(join(dir, handler), 'utf8').catch(() => '') : '';
  if (!handler || !/^enabled$/m.test(text)) {
    throw new EnvironmentError(
      `RUN for ${platform} needs an emulator: no enabled binfmt_misc handler for ${qemu} is registered`,
      {
        hint: `install qemu-user-static (Debian: apt-get install qemu-user-static binfmt-support), which registers qemu-${qemu}; check with ${look}`,
      },
    );
  }
  const flags = /^flags: *(\S*)/m.exec(text)?.[1] ?? '';
  if (!flags.includes('F')) {
    throw new EnvironmentError(
      `RUN for ${platform}: the binfmt_misc handler ${handler} has no F flag, so its emulator cannot be found inside a container`,
      {
        hint: `register it with the F (fix-binary) flag, as Debian's qemu-user-static does; check with ${look}`,
      },
    );
  }
}
