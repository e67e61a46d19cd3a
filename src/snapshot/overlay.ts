import { readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { release, tmpdir } from 'node:os';
import { dirname, relative, resolve, sep } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { UserError } from '../errors.js';
import { runTool } from '../process/run-tool.js';
import { inUserNamespace } from '../process/user-namespace.js';

export interface OverlayMount {
  /** Layer dirs in overlay format, top first. */
  lowerDirs: string[];
  /** Where writes go; without it the mount is read-only. */
  upperDir?: string;
  /** Required with upperDir: an empty dir on the same filesystem as upperDir. */
  workDir?: string;
  target: string;
  /**
   * Skip the syncfs overlayfs does on unmount. Faster, but after a crash the upperdir may be
   * incomplete, and a workDir once used volatile must be emptied before it is reused.
   */
  volatile?: boolean;
  /**
   * An always-empty directory used as a filler layer when fewer than two lowers and no upper are
   * given (overlayfs refuses that). Default: a private temp dir, removed by `unmount`.
   */
  emptyDir?: string;
}

/**
 * Options that keep the upperdir a plain diff other tools can read: no inode index, no
 * redirect xattrs for renamed dirs (rename of a lower dir fails with EXDEV and tools fall back to
 * copy + delete, giving whiteout + new dir), no metadata-only copy-up (every copied-up file has
 * its data in the upperdir). xino only changes inode numbers seen through the mount; off avoids
 * depending on spare inode bits of the backing fs.
 */
export const OVERLAY_DIFF_OPTIONS = ['index=off', 'redirect_dir=off', 'metacopy=off', 'xino=off'];

/**
 * The legacy mount(2) call used by util-linux 2.38 copies one page of option data and silently
 * cuts the rest, so the limit is checked here rather than discovered as a wrong rootfs.
 * 4096 is the smallest page size Linux runs with.
 */
const MOUNT_DATA_MAX = 4096 - 1;

const fillers = new Map<string, string>();

/**
 * overlayfs (5.10+) takes `volatile`. Without it, a mount with an upperdir syncs the whole
 * upper filesystem when it goes away: ~10 ms per RUN or COPY step here, for a durability
 * snapshot dirs do not have anyway (they are never fsynced: docs/design-deviations.md).
 */
export const VOLATILE_SUPPORTED = ((): boolean => {
  const [major = 0, minor = 0] = release().split(/[.-]/).map(Number);
  return major > 5 || (major === 5 && minor >= 10);
})();

/**
 * The option list for an overlay that runc mounts itself, as the container's root (first mount,
 * at /), instead of tsbuild mounting it on the host: two processes fewer per RUN, and nothing
 * left mounted if the build is killed. Paths are absolute there (runc mounts from its own cwd),
 * so fewer layers fit in the kernel's page of options. Undefined when this chain cannot be
 * mounted that way (no lower layer, or too many layers): the caller mounts on the host instead.
 */
export function rootOverlayOptions(m: {
  lowerDirs: string[];
  upperDir: string;
  workDir: string;
}): string[] | undefined {
  if (m.lowerDirs.length === 0) return undefined;
  const lowers = m.lowerDirs.map((d) => resolve(d));
  const upper = resolve(m.upperDir);
  const work = resolve(m.workDir);
  if ([...lowers, upper, work].some(isUnsafeLayerPath)) return undefined;
  const opts = overlayOptions(lowers, { upperDir: upper, workDir: work, volatile: true });
  return Buffer.byteLength(opts.join(',')) > MOUNT_DATA_MAX ? undefined : opts;
}

/**
 * ':' separates lowerdirs and ',' options; escaping them is fragile across kernels, and tsbuild
 * names its own layer dirs, so such a path is a bug, not user input.
 */
function isUnsafeLayerPath(p: string): boolean {
  return /[:,\\\n]/.test(p);
}

/** The mount options of an overlay, paths already written as the mount call will see them. */
function overlayOptions(lowers: string[], upper?: { upperDir: string; workDir: string; volatile: boolean }): string[] {
  const opts = [`lowerdir=${lowers.join(':')}`];
  if (upper) opts.push(`upperdir=${upper.upperDir}`, `workdir=${upper.workDir}`);
  // In a user namespace overlayfs keeps its marks in user.* xattrs (userxattr), and refuses
  // redirect_dir=off there: off means "follow" on kernels built with REDIRECT_ALWAYS_FOLLOW, and
  // userxattr takes only nofollow, which makes no redirects either.
  if (inUserNamespace())
    opts.push(
      ...OVERLAY_DIFF_OPTIONS.map((o) => (o === 'redirect_dir=off' ? 'redirect_dir=nofollow' : o)),
      'userxattr',
    );
  else opts.push(...OVERLAY_DIFF_OPTIONS);
  if (upper?.volatile && VOLATILE_SUPPORTED) opts.push('volatile');
  return opts;
}

export async function mountOverlay(m: OverlayMount): Promise<void> {
  const target = resolve(m.target);
  const lowers = m.lowerDirs.map((d) => resolve(d));
  const upper = m.upperDir === undefined ? undefined : resolve(m.upperDir);
  const work = m.workDir === undefined ? undefined : resolve(m.workDir);
  if ((upper === undefined) !== (work === undefined)) throw new Error('mountOverlay: upperDir and workDir go together');

  if (lowers.length === 0 && upper === undefined) {
    // Nothing at all (FROM scratch, read-only): an empty read-only tmpfs is that rootfs.
    await mustMount(['-t', 'tmpfs', '-o', 'ro,mode=0755,size=4k', 'tsbuild-empty', target], undefined, target);
    return;
  }

  const layers = [...lowers];
  // overlayfs needs one lowerdir with an upper, and two without one.
  const need = upper === undefined ? 2 : 1;
  let filler: string | undefined;
  if (layers.length < need) {
    filler = m.emptyDir === undefined ? await mkdtemp(`${tmpdir()}${sep}tsbuild-empty-`) : resolve(m.emptyDir);
    layers.push(filler);
  }

  const all = [...layers, ...(upper ? [upper] : []), ...(work ? [work] : [])];
  for (const p of all) {
    if (isUnsafeLayerPath(p)) throw new Error(`overlay layer path contains ':', ',', '\\' or a newline: ${p}`);
  }
  // Paths relative to the common parent (mount runs there) keep ~150 hashed layer ids in a page.
  const cwd = commonParent(all);
  const rel = (p: string) => relative(cwd, p) || '.';
  const data = overlayOptions(
    layers.map(rel),
    upper && work ? { upperDir: rel(upper), workDir: rel(work), volatile: m.volatile === true } : undefined,
  ).join(',');
  if (Buffer.byteLength(data) > MOUNT_DATA_MAX) {
    if (filler && m.emptyDir === undefined) await rm(filler, { recursive: true, force: true });
    throw new UserError(
      `too many layers to mount: ${m.lowerDirs.length} layers need ${Buffer.byteLength(data)} bytes of overlay options, the kernel takes ${MOUNT_DATA_MAX}`,
      {
        hint: 'squash some RUN/COPY steps together (fewer layers in the stage)',
      },
    );
  }
  try {
    await mustMount(['-t', 'overlay', '-o', data, 'tsbuild', target], cwd, target);
  } catch (err) {
    if (filler && m.emptyDir === undefined) await rm(filler, { recursive: true, force: true });
    throw err;
  }
  if (filler && m.emptyDir === undefined) fillers.set(target, filler);
}

async function mustMount(args: string[], cwd: string | undefined, target: string): Promise<void> {
  const r = await runTool('mount', args, { cwd });
  if (r.code !== 0) {
    // The kernel's real reason is only in the kernel log (e.g. "overlapping lowerdir path").
    const why = await kernelLogTail();
    throw new Error(
      `mount ${target} failed: ${r.stderr}${why ? `\n${why}` : ''}\n(mount ${args.join(' ')}${cwd ? ` in ${cwd}` : ''})`,
    );
  }
}

async function kernelLogTail(): Promise<string> {
  const r = await runTool('dmesg', ['--notime']).catch(() => undefined);
  if (r?.code !== 0) return '';
  const lines = r.stdout
    .toString('utf8')
    .trim()
    .split('\n')
    .filter((l) => l.includes('overlay'));
  return lines.slice(-2).join('\n');
}

/**
 * Unmounts `target`; a target that is not mounted is not an error (cleanup paths call this
 * unconditionally). A mount still busy after retries (a process of the container lingering)
 * is detached lazily so the build can go on; the kernel finishes it when the last user leaves.
 */
export async function unmount(target: string): Promise<void> {
  const abs = resolve(target);
  try {
    for (let attempt = 0; ; attempt++) {
      if (!(await isMounted(abs))) return;
      const r = await runTool('umount', [abs]);
      if (r.code === 0) continue; // stacked mounts on the same target: loop until none is left
      if (/not mounted|no mount point/i.test(r.stderr)) return;
      if (/busy/i.test(r.stderr) && attempt < 8) {
        await sleep(25 * 2 ** attempt); // 25 ms … 3.2 s, ~6 s in all
        continue;
      }
      if (/busy/i.test(r.stderr)) {
        const lazy = await runTool('umount', ['-l', abs]);
        if (lazy.code === 0) continue;
        throw new Error(`umount -l ${abs} failed: ${lazy.stderr}`);
      }
      throw new Error(`umount ${abs} failed: ${r.stderr}`);
    }
  } finally {
    const filler = fillers.get(abs);
    if (filler && !(await isMounted(abs).catch(() => true))) {
      fillers.delete(abs);
      await rm(filler, { recursive: true, force: true });
    }
  }
}

/** Whether something is mounted exactly at `target` (per this process's mount namespace). */
export async function isMounted(target: string): Promise<boolean> {
  const abs = resolve(target);
  // Synchronous: asked two or three times per RUN step, and a procfs read takes microseconds.
  const info = readFileSync('/proc/self/mountinfo', 'utf8');
  for (const line of info.split('\n')) {
    const mountPoint = line.split(' ')[4];
    if (mountPoint !== undefined && unescapeMountinfo(mountPoint) === abs) return true;
  }
  return false;
}

function unescapeMountinfo(s: string): string {
  return s.replace(/\\([0-7]{3})/g, (_, o: string) => String.fromCharCode(parseInt(o, 8)));
}

function commonParent(paths: string[]): string {
  let common = dirname(paths[0]!);
  for (const p of paths) {
    while (common !== '/' && !(p === common || p.startsWith(common.endsWith('/') ? common : `${common}/`)))
      common = dirname(common);
  }
  return common;
}
