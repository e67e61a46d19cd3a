import type { ImageManifest } from './types.js';
import { MediaType } from './types.js';

/**
 * `oci-mediatypes=false`: the Docker schema 2 media types BuildKit writes then (manifest, config,
 * gzip or plain layers; a manifest list for several platforms). zstd has no Docker media type:
 * BuildKit turns OCI media types back on for it (`forcibly turning on oci-mediatype mode`).
 */
export function hasDockerLayerType(mt: string): boolean {
  return mt === MediaType.ociLayerGzip || mt === MediaType.ociLayerTar || mt.startsWith('application/vnd.docker.');
}

/** The manifest with Docker's media types; its config descriptor must already be the Docker config's. */
export function dockerManifestOf(manifest: ImageManifest): ImageManifest {
  return {
    ...manifest,
    mediaType: MediaType.dockerManifest,
    layers: manifest.layers.map((l) => ({ ...l, mediaType: dockerLayerType(l.mediaType) })),
  };
}

function dockerLayerType(mt: string): string {
  if (mt === MediaType.ociLayerGzip) return MediaType.dockerLayerGzip;
  if (mt === MediaType.ociLayerTar) return MediaType.dockerLayerTar;
  return mt;
}
