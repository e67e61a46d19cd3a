import type { BigIntStats, Stats } from 'node:fs';
import { hasSysAdmin } from '../process/sys-admin.js';
import { inUserNamespace } from '../process/user-namespace.js';

/**
 * The on-disk layer format shared by RUN upperdirs, COPY output and unpacked base layers: the
 * format overlayfs itself uses, so any chain of layer dirs can be mounted as lowerdirs directly.
 */

/**
 * The namespace of overlayfs' own xattrs: `trusted.overlay.` as root, `user.overlay.` in a user
 * namespace (rootless mode), where `trusted.*` needs a privilege root of the namespace lacks and
 * overlayfs is mounted with `userxattr` to read `user.overlay.*` instead (kernel 5.11+). Root
 * without CAP_SYS_ADMIN (in a container: isolation chroot) cannot set or even see `trusted.*`
 * either, and mounts nothing, so its layer dirs carry the `user.` spelling too.
 */
export const OVERLAY_XATTR_PREFIX = inUserNamespace() || !hasSysAdmin() ? 'user.overlay.' : 'trusted.overlay.';

/** `<prefix>opaque` = "y" marks a directory that hides everything below it. */
export const OPAQUE_XATTR = `${OVERLAY_XATTR_PREFIX}opaque`;
/** Kernel 6.7+ also writes "x" here (dir holds xattr-whiteouts, *not* opaque), so only "y" counts. */
export const OPAQUE_VALUE = 'y';

/** OCI whiteout spellings inside a layer tar. */
export const WHITEOUT_PREFIX = '.wh.';
export const OPAQUE_MARKER = '.wh..wh..opq';

/** A whiteout is a character device with device number 0/0 (rdev 0). */
export function isWhiteoutStat(st: Stats | BigIntStats): boolean {
  return st.isCharacterDevice() && Number(st.rdev) === 0;
}

/**
 * xattrs that are carried in layer tars and restored on unpack. `trusted.overlay.*` is overlayfs
 * bookkeeping (origin, impure, uuid, opaque…; `user.overlay.*` in rootless mode) that is host-specific or expressed as whiteouts
 * instead, and accepting it from a tar would let an image plant redirects/metacopy into our
 * layer dirs. `security.selinux` labels belong to the host that wrote them.
 */
export function isPortableXattr(name: string): boolean {
  return !name.startsWith('trusted.overlay.') && !name.startsWith(OVERLAY_XATTR_PREFIX) && name !== 'security.selinux';
}

/** Linux dev_t → major/minor, as glibc's gnu_dev_major/minor encode them. */
export function splitDev(rdev: bigint): { major: number; minor: number } {
  const major = ((rdev >> 8n) & 0xfffn) | ((rdev >> 32n) & 0xfffff000n);
  const minor = (rdev & 0xffn) | ((rdev >> 12n) & 0xffffff00n);
  return { major: Number(major), minor: Number(minor) };
}
