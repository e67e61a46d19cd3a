import type { ContentStore } from '../store/content-store.js';
import { MediaType, type Descriptor } from '../image/types.js';

export const IN_TOTO_MEDIA_TYPE = 'application/vnd.in-toto+json';
const ATTESTATION_ARTIFACT_TYPE = 'application/vnd.docker.attestation.manifest.v1+json';
const EMPTY_MEDIA_TYPE = 'application/vnd.oci.empty.v1+json';

/**
 * One platform image's attestation manifest, as BuildKit stores it (docs/attestations/
 * attestation-storage.md, OCI artifact form): an OCI manifest whose layers are the in-toto
 * statements, config the OCI empty descriptor, subject the image manifest. Its descriptor, for the
 * image index, is `unknown/unknown` with the annotations that point at the image it attests.
 */
export async function putAttestationManifest(
  store: ContentStore,
  image: Descriptor,
  statements: { predicateType: string; json: string }[],
): Promise<Descriptor> {
  const config = await store.put('{}', EMPTY_MEDIA_TYPE);
  const layers: Descriptor[] = [];
  for (const s of statements) {
    const blob = await store.put(s.json, IN_TOTO_MEDIA_TYPE);
    layers.push({ ...blob, annotations: { 'in-toto.io/predicate-type': s.predicateType } });
  }
  const manifest = {
    schemaVersion: 2,
    mediaType: MediaType.ociManifest,
    artifactType: ATTESTATION_ARTIFACT_TYPE,
    config: { mediaType: EMPTY_MEDIA_TYPE, digest: config.digest, size: config.size, data: 'e30=' },
    layers,
    subject: { mediaType: image.mediaType, digest: image.digest, size: image.size },
  };
  const stored = await store.put(JSON.stringify(manifest), MediaType.ociManifest);
  return {
    ...stored,
    annotations: {
      'vnd.docker.reference.digest': image.digest,
      'vnd.docker.reference.type': 'attestation-manifest',
    },
    platform: { architecture: 'unknown', os: 'unknown' },
  };
}

/** Whether an index entry is an attestation manifest (not an image to run or list). */
export const isAttestationEntry = (d: Descriptor): boolean =>
  d.annotations?.['vnd.docker.reference.type'] === 'attestation-manifest';
