/**
 * What the solver sees of the caches imported with --cache-from (made by cache-import.ts): look
 * up a record by key, and make a layer it names exist in the state dir.
 */
export interface ImportedCache {
  record(key: string): ImportedRecord | undefined;
  /** Whether an imported cache holds the blob of snapshot `id`. */
  hasLayer(id: string): boolean;
  /** The blob an imported cache holds of snapshot `id`. */
  layerBlob(id: string): { digest: string; size: number; mediaType: string; diffId: string } | undefined;
  /** False when the blob of snapshot `id` is seen to be missing or damaged without fetching it (a local cache's size). */
  layerLooksWhole?(id: string): Promise<boolean>;
  /** Downloads the blob of snapshot `id` into the content store, without unpacking it. */
  fetchLayerBlob(id: string): Promise<void>;
  /** Makes snapshot `id` exist in the state dir, from the imported blob (download and unpack). */
  materialize(id: string): Promise<void>;
}

export interface ImportedRecord {
  key: string;
  layers: string[];
  createdAt: string;
  description: string;
  inputTops?: string[];
  /** Which --cache-from it came from, for the progress line. */
  source: string;
}
