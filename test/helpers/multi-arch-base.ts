/** The amd64+arm64 busybox OCI layout the multi-platform tests build from, made on first use. */
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { REPO_ROOT } from './build-fixture.js';

export const MULTI_ARCH_LAYOUT = join(REPO_ROOT, 'fixtures/base/busybox-multi');

/** Why a multi-platform test cannot run here, or '' (QEMU's arm64 handler and the arm64 busybox are needed). */
export async function multiArchMissing(): Promise<string> {
  if (!existsSync('/proc/sys/fs/binfmt_misc/qemu-aarch64'))
    return 'no binfmt_misc handler for aarch64 (install qemu-user-static)';
  return promisify(execFile)('bash', [join(REPO_ROOT, 'fixtures/base/make-multiarch-layout.sh')]).then(
    () => '',
    (err: Error) => `cannot make the amd64+arm64 base: ${err.message.split('\n')[0]}`,
  );
}
