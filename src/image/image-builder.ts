import type { ContainerConfig, Descriptor, DiffId, HistoryEntry, ImageConfig, ImageManifest } from './types.js';
import { MediaType } from './types.js';

export interface ImageLayerInput {
  descriptor: Descriptor;
  diffId: DiffId;
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
  /** `--annotation manifest:…`: the manifest's own annotations (absent: the field is left out). */
  manifestAnnotations?: Record<string, string>;
}

/**
 * The image config and manifest for a finished build. Every layer is kept, an empty one too, as
 * BuildKit does. When a base image carried fewer history entries than layers (the image spec
 * allows none at all), entries are added for its layers at the front, as BuildKit's exporter
 * does, so history and rootfs.diff_ids line up.
 */
export function buildImage(input: ImageInput): {
  config: ImageConfig;
  manifestFor(configDesc: Descriptor): ImageManifest;
} {
  const history = input.history.map((h) => ({ ...h }));
  const claimed = history.filter((h) => !h.empty_layer).length;
  for (let i = claimed; i < input.layers.length; i++) history.unshift({ created_by: '' });
  const kept = input.layers;
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
      layers: kept.map((l) => ({
        mediaType: ociLayerType(l.descriptor.mediaType),
        digest: l.descriptor.digest,
        size: l.descriptor.size,
        ...(l.descriptor.annotations ? { annotations: { ...l.descriptor.annotations } } : {}),
      })),
      ...(input.manifestAnnotations && Object.keys(input.manifestAnnotations).length
        ? { annotations: { ...input.manifestAnnotations } }
        : {}),
    }),
  };
}

/** Docker layer media types map onto their OCI equivalents in an OCI manifest. */
function ociLayerType(mt: string): string {
  if (mt === MediaType.dockerLayerGzip || mt === MediaType.dockerForeignLayerGzip) return MediaType.ociLayerGzip;
  if (mt === MediaType.dockerLayerTar) return MediaType.ociLayerTar;
  return mt;
}
