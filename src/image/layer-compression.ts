/**
 * The names, level ranges and media types of layer compressions, apart from the compressors
 * themselves: the CLI checks flags with these and the layer records are read with them, and
 * loading compress.ts would load zlib into every command.
 */
import { MediaType } from './types.js';

/** How a layer blob is compressed: buildx's `compression=` values. */
export type LayerCompression = 'gzip' | 'zstd' | 'uncompressed';

export const LAYER_COMPRESSIONS: readonly LayerCompression[] = ['gzip', 'zstd', 'uncompressed'];

/** The valid `compression-level` range, as buildx checks it. */
export function levelRange(c: LayerCompression): [number, number] | undefined {
  return c === 'gzip' ? [0, 9] : c === 'zstd' ? [1, 22] : undefined;
}

/** What a layer media type says about its compression (Docker and OCI spellings), if it is a layer type we know. */
export function compressionOfMediaType(mt: string): LayerCompression | undefined {
  switch (mt) {
    case MediaType.ociLayerGzip:
    case MediaType.dockerLayerGzip:
    case MediaType.dockerForeignLayerGzip:
      return 'gzip';
    case MediaType.ociLayerZstd:
      return 'zstd';
    case MediaType.ociLayerTar:
    case MediaType.dockerLayerTar:
      return 'uncompressed';
    default:
      return undefined;
  }
}
