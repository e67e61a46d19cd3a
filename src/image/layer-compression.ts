/**
 * The names and level ranges of layer compressions, apart from the compressors themselves: the
 * CLI checks flags with these, and loading compress.ts would load zlib into every command.
 */

/** How a layer blob is compressed: buildx's `compression=` values. */
export type LayerCompression = 'gzip' | 'zstd' | 'uncompressed';

export const LAYER_COMPRESSIONS: readonly LayerCompression[] = ['gzip', 'zstd', 'uncompressed'];

/** The valid `compression-level` range, as buildx checks it. */
export function levelRange(c: LayerCompression): [number, number] | undefined {
  return c === 'gzip' ? [0, 9] : c === 'zstd' ? [1, 22] : undefined;
}
