import type { ContainerConfig, Descriptor, DiffId, HistoryEntry, ImageConfig, ImageManifest } from './types.js';
import { MediaType } from './types.js';

export interface ImageLayerInput {
  descriptor: Descriptor;
  diffId: DiffId;
  /** A step's layer with no changes: dropped, and its history entry marked empty_layer. */
  empty: boolean;
  /** Base-image layers are kept as they are even if empty. */
  fromBase: boolean;
}

export interface ImageInput {
  architecture: string;
  os: string;
  variant?: string;
  author?: string;
  created?: string;
  config: ContainerConfig;
  history: HistoryEntry[];
  layers: ImageLayerInput[];
}

/**
 * The image config and manifest for a finished build. History entries that claim a layer are
 * paired with the layers in order; a step layer that turned out empty is dropped and its entry
 * marked empty_layer, as BuildKit's exporter does.
 */
export function buildImage(input: ImageInput): { config: ImageConfig; manifestFor(configDesc: Descriptor): ImageManifest } {
  const history = input.history.map((h) => ({ ...h }));
  const kept: ImageLayerInput[] = [];
  const withLayer = history.filter((h) => !h.empty_layer);
  const pairable = withLayer.length === input.layers.length;
  input.layers.forEach((layer, i) => {
    if (layer.empty && !layer.fromBase) {
      if (pairable) withLayer[i]!.empty_layer = true;
      return;
    }
    kept.push(layer);
  });
  const created = input.created;
  for (const h of history) if (created && !h.created) h.created = created;
  const config: ImageConfig = {
    ...(created ? { created } : {}),
    ...(input.author ? { author: input.author } : {}),
    architecture: input.architecture,
    os: input.os,
    ...(input.variant ? { variant: input.variant } : {}),
    config: input.config,
    rootfs: { type: 'layers', diff_ids: kept.map((l) => l.diffId) },
    history,
  };
  return {
    config,
    manifestFor: (configDesc) => ({
      schemaVersion: 2,
      mediaType: MediaType.ociManifest,
      config: configDesc,
      layers: kept.map((l) => ({ mediaType: ociLayerType(l.descriptor.mediaType), digest: l.descriptor.digest, size: l.descriptor.size })),
    }),
  };
}

/** Docker layer media types map onto their OCI equivalents in an OCI manifest. */
function ociLayerType(mt: string): string {
  if (mt === MediaType.dockerLayerGzip || mt === MediaType.dockerForeignLayerGzip) return MediaType.ociLayerGzip;
  if (mt === MediaType.dockerLayerTar) return MediaType.ociLayerTar;
  return mt;
}
