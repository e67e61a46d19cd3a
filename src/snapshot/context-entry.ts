/**
 * One file of a build context as it was selected (by cache/context-source.ts) and as COPY places
 * it (copy-files.ts): the snapshotter's view of a source tree, named here so the copier does not
 * depend on how the selection was made.
 */
/** `socket`: becomes an empty regular file when copied, as BuildKit's context transfer makes it. */
export type EntryType = 'file' | 'dir' | 'symlink' | 'socket' | 'other';

export interface ContextEntry {
  /** Posix path relative to the context root ('' is the root itself). */
  rel: string;
  type: EntryType;
  mode: number;
  uid: number;
  gid: number;
  size: number;
  dev: number;
  ino: number;
  nlink: number;
  mtimeMs: number;
  /** Kept so the stat cache can check a file by this lstat alone (StatCache.hashFile). */
  ctimeMs?: number;
  linkTarget?: string;
}

export interface SelectedMatch {
  /** The name the match is copied under: the last component of what the pattern matched. */
  name: string;
  /** The matched path itself (file or directory), a symlink already followed inside the root. */
  root: ContextEntry;
  /** For a directory: everything under it that is not ignored or excluded, parents before children. */
  children: ContextEntry[];
}
