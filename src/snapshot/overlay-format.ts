import type { BigIntStats, Stats } from 'node:fs';

/**
 * The on-disk layer format shared by RUN upperdirs, COPY output and unpacked base layers: the
 * format overlayfs itself uses, so any chain of layer dirs can be mounted as lowerdirs directly.
 */

/** `trusted.overlay.opaque` = "y" marks a directory that hides everything below it. */
export const OPAQUE_XATTR = 'trusted.overlay.opaque';
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
 * bookkeeping (origin, impure, uuid, opaque…) that is host-specific or expressed as whiteouts
 * instead, and accepting it from a tar would let an image plant redirects/metacopy into our
 * layer dirs. `security.selinux` labels belong to the host that wrote them.
 */
export function isPortableXattr(name: string): boolean {
  return !name.startsWith('trusted.overlay.') && name !== 'security.selinux';
}

/** Linux dev_t → major/minor, as glibc's gnu_dev_major/minor encode them. */
export function splitDev(rdev: bigint): { major: number; minor: number } {
  const major = ((rdev >> 8n) & 0xfffn) | ((rdev >> 32n) & 0xfffff000n);
  const minor = (rdev & 0xffn) | ((rdev >> 12n) & 0xffffff00n);
  return { major: Number(major), minor: Number(minor) };
}
