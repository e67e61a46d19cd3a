import { existsSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, test } from 'vitest';
import { EnvironmentError } from '../errors.js';
import { BINFMT_DIR, checkEmulator } from './binfmt.js';

const dirs: string[] = [];
afterEach(async () => {
  for (const d of dirs.splice(0)) await rm(d, { recursive: true, force: true });
});

/** A directory laid out as /proc/sys/fs/binfmt_misc is: `status`, `register`, one file per handler. */
async function binfmtDir(handlers: Record<string, string>, mounted = true): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'binfmt-'));
  dirs.push(dir);
  if (mounted) {
    await writeFile(join(dir, 'status'), 'enabled\n');
    await writeFile(join(dir, 'register'), '');
  }
  for (const [name, text] of Object.entries(handlers)) await writeFile(join(dir, name), text);
  return dir;
}

const aarch64 = (flags: string, state = 'enabled') =>
  `${state}\ninterpreter /usr/libexec/qemu-binfmt/aarch64-binfmt-P\nflags: ${flags}\noffset 0\nmagic 7f454c46\n`;

describe('checkEmulator', () => {
  test('the host architecture, and what its CPU runs natively, need nothing (not even binfmt_misc)', async () => {
    const none = join(tmpdir(), 'no-binfmt-here');
    await expect(checkEmulator('linux/amd64', 'amd64', none)).resolves.toBeUndefined();
    await expect(checkEmulator('linux/386', 'amd64', none)).resolves.toBeUndefined();
    await expect(checkEmulator('linux/arm/v7', 'arm64', none)).resolves.toBeUndefined();
  });

  test('an enabled qemu handler with the F flag is enough', async () => {
    const dir = await binfmtDir({ 'qemu-aarch64': aarch64('PF') });
    await expect(checkEmulator('linux/arm64', 'amd64', dir)).resolves.toBeUndefined();
  });

  test('no handler for the architecture: names the package and how to look', async () => {
    const dir = await binfmtDir({ 'qemu-arm': aarch64('PF') });
    const err = await checkEmulator('linux/arm64', 'amd64', dir).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(EnvironmentError);
    expect((err as Error).message).toBe(
      'RUN for linux/arm64 needs an emulator: no enabled binfmt_misc handler for aarch64 is registered',
    );
    expect((err as EnvironmentError).hint).toMatch(/qemu-user-static.*ls .*qemu-aarch64/);
  });

  test('a disabled handler, one without F, and binfmt_misc not mounted are each told apart', async () => {
    const disabled = await binfmtDir({ 'qemu-aarch64': aarch64('PF', 'disabled') });
    await expect(checkEmulator('linux/arm64', 'amd64', disabled)).rejects.toThrow(/no enabled binfmt_misc handler/);
    const noF = await binfmtDir({ 'qemu-aarch64': aarch64('P') });
    await expect(checkEmulator('linux/arm64', 'amd64', noF)).rejects.toThrow(/has no F flag/);
    const unmounted = await binfmtDir({}, false);
    await expect(checkEmulator('linux/s390x', 'amd64', unmounted)).rejects.toThrow(/binfmt_misc is not mounted/);
  });

  test.skipIf(!existsSync(join(BINFMT_DIR, 'qemu-aarch64')))('this machine: arm64 is registered', async () => {
    await expect(checkEmulator('linux/arm64', 'amd64')).resolves.toBeUndefined();
  });
});
