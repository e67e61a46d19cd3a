import type { Descriptor, ImageConfig, ImageManifest } from '../image/types.js';
import type { ImageReference } from './reference.js';

/**
 * A base image whose manifest and config are in the content store, ready for the solver. Layers
 * are listed in `manifest.layers`; whether they are in the store yet depends on the source
 * (registry layers are fetched on demand with RegistryClient.fetchBlob; layout layers are copied
 * during resolution).
 */
export interface ResolvedImage {
  /** What the image was resolved from, for messages and history: `docker.io/library/busybox:latest`, `oci-layout:///dir:tag`. */
  source: string;
  /** The single-platform manifest chosen for the requested platform. */
  manifestDescriptor: Descriptor;
  manifest: ImageManifest;
  configDescriptor: Descriptor;
  config: ImageConfig;
  /**
   * The index (or manifest list) the name pointed at, when it was one. Its digest is what pins a
   * multi-platform name (`name@<index digest>`) for every platform at once.
   */
  indexDescriptor?: Descriptor;
}

/** A ResolvedImage that came from a registry, with the reference pinned to what was resolved. */
export interface RegistryResolvedImage extends ResolvedImage {
  /** The reference as given (tag kept) with the digest of the top-level manifest or index filled in. */
  ref: ImageReference;
}

/** A ResolvedImage that came from `oci-layout://DIR[:tag]`. */
export interface LayoutResolvedImage extends ResolvedImage {
  layout: string;
  tag?: string;
}
