/**
 * What GC asks of the modules outside cache/ that own a record format naming content-store blobs.
 * GC never reads their files: it takes these as parameters (StateParts.owners), wired where the
 * state parts are made, so cache/ imports neither registry/ nor sources/ (its siblings).
 */

/** Records that name images whose manifests and configs must stay (base image tag pins). */
export interface ManifestPins {
  /** The pinned manifest digests: GC keeps them and the configs (not the layers) they name. */
  pinnedManifests(): Promise<string[]>;
}

/** Records that keep blobs of their own alive until they are forgotten (ADD's URL records). */
export interface BlobHolder {
  /** The blobs the records name: GC keeps them. */
  heldBlobs(): Promise<Set<string>>;
  /** Forgets every record (`prune --all`): the blobs become garbage. */
  forgetAll(): Promise<void>;
}

/** Notes about blobs that keep nothing alive (registry mount hints). */
export interface BlobNotes {
  /** Drops the notes of blobs `has` says are gone, every note with `all`; how many went. */
  prune(opts: { all: boolean; has: (digest: string) => Promise<boolean> }): Promise<number>;
}

export interface StateOwners {
  /** registry/tag-pins.ts */
  tagPins: ManifestPins;
  /** registry/blob-sources.ts */
  blobSources: BlobNotes;
  /** sources/http-download.ts */
  downloads: BlobHolder;
}
