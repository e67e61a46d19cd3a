import { describe, expect, it } from 'vitest';
import { dockerManifestOf, hasDockerLayerType } from './docker-media-types.js';
import { MediaType, type Digest, type ImageManifest } from './types.js';

const d = (mediaType: string, n: number) => ({
  mediaType,
  digest: `sha256:${String(n).repeat(64)}` as Digest,
  size: n,
});

describe('Docker media types (oci-mediatypes=false)', () => {
  it('a manifest gets the Docker manifest type and Docker layer types, the rest as it was', () => {
    const oci: ImageManifest = {
      schemaVersion: 2,
      mediaType: MediaType.ociManifest,
      config: d(MediaType.dockerConfig, 1),
      layers: [d(MediaType.ociLayerGzip, 2), d(MediaType.ociLayerTar, 3)],
    };
    expect(dockerManifestOf(oci)).toEqual({
      schemaVersion: 2,
      mediaType: MediaType.dockerManifest,
      config: d(MediaType.dockerConfig, 1),
      layers: [d(MediaType.dockerLayerGzip, 2), d(MediaType.dockerLayerTar, 3)],
    });
  });
  it('zstd layers have no Docker media type', () => {
    expect(hasDockerLayerType(MediaType.ociLayerGzip)).toBe(true);
    expect(hasDockerLayerType(MediaType.dockerLayerGzip)).toBe(true);
    expect(hasDockerLayerType(MediaType.ociLayerZstd)).toBe(false);
  });
});
