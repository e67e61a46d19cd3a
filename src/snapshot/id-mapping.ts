import { UserError } from '../errors.js';

/**
 * How a uid or gid as the image has it (in a layer tar, a --chown, USER) becomes the owner of a
 * file on the host. Identity when tsbuild runs as root; a rootless build will map the image's 0
 * to the user's own id and the rest into its subordinate range (/etc/subuid), as the container's
 * user namespace does, so the files it writes read back with the image's owners inside it.
 */
export interface IdMapping {
  uid(containerId: number): number;
  gid(containerId: number): number;
  /** The reverse, for a layer tar written from a snapshot: the owner on the host as the image has it. */
  imageUid(hostId: number): number;
  imageGid(hostId: number): number;
  /** Files are written as the user's own; image owners other than root go to OWNER_XATTR. */
  recordsOwners?: boolean;
}

export const IDENTITY_MAPPING: IdMapping = {
  uid: (n) => n,
  gid: (n) => n,
  imageUid: (n) => n,
  imageGid: (n) => n,
};

/** The kernel's default overflowuid/overflowgid: how an unmapped id appears inside a user namespace. */
const OVERFLOW_ID = 65534;

/** One range of an OCI runtime spec's `linux.uidMappings` / `gidMappings`. */
export interface IdRange {
  containerID: number;
  hostID: number;
  size: number;
}

/** A mapping from OCI-style ranges; an id no range covers cannot be written (as in a user namespace). */
export function idMappingFromRanges(uids: IdRange[], gids: IdRange[]): IdMapping {
  const map = (ranges: IdRange[], what: string) => (n: number) => {
    const r = ranges.find((r) => n >= r.containerID && n < r.containerID + r.size);
    if (!r)
      throw new UserError(`${what} ${n} has no host id in this build's id mapping`, {
        hint: 'files owned by it cannot be written; widen the mapping (/etc/subuid, /etc/subgid)',
      });
    return r.hostID + (n - r.containerID);
  };
  // A host id outside every range is what a user namespace shows as its overflow id (65534):
  // a file the build could not have given that owner, exported as nobody rather than failing.
  const unmap = (ranges: IdRange[]) => (n: number) => {
    const r = ranges.find((r) => n >= r.hostID && n < r.hostID + r.size);
    return r ? r.containerID + (n - r.hostID) : OVERFLOW_ID;
  };
  return { uid: map(uids, 'uid'), gid: map(gids, 'gid'), imageUid: unmap(uids), imageGid: unmap(gids) };
}

/**
 * Where a build that may not chown (tsbuild run by a user other than root, isolation chroot) keeps
 * an entry's owner as the image has it, "uid:gid": every file is the user's own on disk. Absent,
 * the owner is the image's root. Symlinks cannot carry user.* xattrs: theirs is always root.
 */
export const OWNER_XATTR = 'user.tsbuild.owner';

/**
 * The mapping of a user that may not chown: every image id is written as the user's own ids (the
 * image's owner going to OWNER_XATTR instead), and the user's ids read back as the image's root.
 */
export function ownIdsMapping(uid: number, gid: number): IdMapping {
  return {
    uid: () => uid,
    gid: () => gid,
    imageUid: (n) => (n === uid ? 0 : OVERFLOW_ID),
    imageGid: (n) => (n === gid ? 0 : OVERFLOW_ID),
    recordsOwners: true,
  };
}

/**
 * The mapping a snapshot is written with when its writer passes none: identity for root (and root
 * of a user namespace, rootless mode), the user's own ids for anyone else.
 */
export function processIdMapping(): IdMapping {
  const euid = process.geteuid?.();
  if (euid === undefined || euid === 0) return IDENTITY_MAPPING;
  return (ownMapping ??= ownIdsMapping(euid, process.getegid!()));
}
let ownMapping: IdMapping | undefined;

/**
 * The OWNER_XATTR value for an image owner, or undefined where nothing is kept (a mapping that
 * chowns; root, unless `overwrite`: the entry may be one that already has a record, a merged dir).
 */
export function ownerXattrValue(ids: IdMapping, uid: number, gid: number, overwrite = false): Buffer | undefined {
  return ids.recordsOwners && (overwrite || uid !== 0 || gid !== 0) ? Buffer.from(`${uid}:${gid}`) : undefined;
}

/** The image owner an OWNER_XATTR value names, or undefined if it names none. */
export function parseOwnerXattr(value: Buffer | undefined): { uid: number; gid: number } | undefined {
  const m = value && /^(\d+):(\d+)$/.exec(value.toString('latin1'));
  return m ? { uid: Number(m[1]), gid: Number(m[2]) } : undefined;
}
