import { UserError } from '../../errors.js';
import { parseReference } from '../../registry/reference.js';
import type { FlagText, RemoteCacheBackend } from './remote-cache.js';

/** `--cache-to type=registry,ref=REF` / `--cache-from type=registry,ref=REF`: a cache pushed as an OCI image. */
export interface RegistryCacheLocation {
  type: 'registry';
  ref: string;
  /** `registry.insecure=true`: plain HTTP and unchecked TLS for this registry. */
  insecure?: boolean;
}

export const registryCache: RemoteCacheBackend<RegistryCacheLocation> = {
  type: 'registry',
  toKeys: ['ref', 'registry.insecure'],
  fromKeys: ['ref', 'registry.insecure'],
  toExample: '--cache-to type=registry,ref=REG/app:buildcache,mode=max',
  fromExample: '--cache-from type=registry,ref=REG/app:buildcache',
  parseTo: (fields, flag) => parse(fields, flag),
  parseFrom: (fields, flag) => parse(fields, flag),
  describeTo: (to) => to.ref,
  describeFrom: (from) => from.ref,
  insecureRegistry: (loc) => (loc.insecure ? parseReference(loc.ref).registry : undefined),

  async read(from, ctx) {
    const ref = parseReference(from.ref).withDefaultTag();
    const client = await ctx.registry();
    const opts = ctx.signal ? { signal: ctx.signal } : {};
    const { manifest } = await client.fetchManifest(ref, ctx.store, opts);
    // where the layers are, so that a push to this registry mounts them rather than fetching them first
    const { blobSources } = await import('../../registry/registry-setup.js');
    const sources = blobSources(ctx.stateRoot);
    await Promise.all(manifest.layers.map((l) => sources.add(l.digest, ref.registry, ref.repository)));
    return { manifest, fetchBlob: (desc) => client.fetchBlob(ref, desc, ctx.store, opts) };
  },

  async write(to, manifest, ctx) {
    const [{ pushImage }, { blobSources }] = await Promise.all([
      import('../../exporter/push-image.js'),
      import('../../registry/registry-setup.js'),
    ]);
    const ref = parseReference(to.ref).withDefaultTag();
    if (ref.digest) throw new UserError(`--cache-to ${to.ref}: a cache is pushed to a tag, not a digest`);
    const client = await ctx.registry();
    const stats = await pushImage(
      client.session,
      ctx.store,
      manifest,
      [ref.toString()],
      blobSources(ctx.stateRoot),
      ctx.signal ? { signal: ctx.signal } : {},
    );
    return `${stats.uploaded} blobs uploaded, ${stats.mounted} mounted, ${stats.existing} already there`;
  },
};

function parse(fields: ReadonlyMap<string, string>, flag: FlagText): RegistryCacheLocation {
  const insecure = fields.has('registry.insecure') && flag.bool('registry.insecure');
  return { type: 'registry' as const, ref: flag.required('ref'), ...(insecure ? { insecure } : {}) };
}
