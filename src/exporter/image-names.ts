import { UserError } from '../errors.js';
import { ImageReference, parseReference } from '../registry/reference.js';

/** containerd's annotation for an image's full name, which buildx and tsbuild write too. */
export const ANNOTATION_IMAGE_NAME = 'io.containerd.image.name';

/** One `-t` name in the forms each output needs. */
export interface ImageName {
  /** Fully qualified, tag defaulted: `docker.io/library/app:latest` (containerd's io.containerd.image.name). */
  full: string;
  /** The tag alone: `latest` (OCI's org.opencontainers.image.ref.name, as containerd and buildx write it). */
  tag: string;
  /** docker's short form: `app:latest`, `localhost:5000/app:1` (manifest.json RepoTags). */
  familiar: string;
  /** docker's short form of the repository alone: `app`, `localhost:5000/app` (the REPOSITORY column). */
  repository: string;
}

/**
 * Normalizes an image name like `docker build -t` does. A digest cannot be part of a name we
 * give: the digest is the result of the build, not something the user can choose.
 */
export function normalizeImageName(name: string): ImageName {
  const ref = parseReference(name).withDefaultTag();
  if (ref.digest !== undefined)
    throw new UserError(
      `invalid image name ${JSON.stringify(name)}: a name to tag the result with cannot contain a digest`,
    );
  const repository = new ImageReference(ref.registry, ref.repository).familiar();
  return { full: ref.toString(), tag: ref.tag!, familiar: ref.familiar(), repository };
}

/** Normalizes every name, keeping the first of any that normalize to the same image name. */
export function normalizeImageNames(names: readonly string[]): ImageName[] {
  const seen = new Set<string>();
  const out: ImageName[] = [];
  for (const n of names) {
    const norm = normalizeImageName(n);
    if (seen.has(norm.full)) continue;
    seen.add(norm.full);
    out.push(norm);
  }
  return out;
}
