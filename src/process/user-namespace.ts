import { readFileSync } from 'node:fs';

/**
 * Whether this process runs in a user namespace other than the host's, as runc tells it
 * (libcontainer/userns): the initial namespace maps all 2^32-1 ids from 0 to 0. Inside one,
 * "root" holds no privilege over the host: overlayfs keeps its bookkeeping in `user.overlay.*`
 * xattrs (mounted with `userxattr`), and runc must run `--rootless`.
 */
export function parseInUserNamespace(uidMap: string): boolean {
  const lines = uidMap.trim().split('\n');
  if (lines.length !== 1) return true;
  const [inside, outside, count] = lines[0]!.trim().split(/\s+/);
  return !(inside === '0' && outside === '0' && count === '4294967295');
}

let cached: boolean | undefined;

/** parseInUserNamespace of this process, read once: a process never leaves its user namespace. */
export function inUserNamespace(): boolean {
  if (cached !== undefined) return cached;
  try {
    cached = parseInUserNamespace(readFileSync('/proc/self/uid_map', 'utf8'));
  } catch {
    // no /proc, or a kernel without user namespaces: the host's view
    cached = false;
  }
  return cached;
}
