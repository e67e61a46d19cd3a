import { stat } from 'node:fs/promises';
import { join } from 'node:path';
import { UserError } from '../../errors.js';
import type { RemoteCacheBackend } from './remote-cache.js';

/** `--cache-to type=local,dest=DIR[,tag=T]`: a cache written as a tagged image in an OCI layout directory. */
export interface LocalCacheTo {
  type: 'local';
  dest: string;
  tag: string;
}

/** `--cache-from type=local,src=DIR[,tag=T|digest=D]`; `tag` holds the digest when one is given. */
export interface LocalCacheFrom {
  type: 'local';
  src: string;
  tag: string;
}

export const localCache: RemoteCacheBackend<LocalCacheTo, LocalCacheFrom> = {
  type: 'local',
  toKeys: ['dest', 'tag'],
  fromKeys: ['src', 'tag', 'digest'],
  toExample: '--cache-to type=local,dest=DIR',
  fromExample: '--cache-from type=local,src=DIR',
  parseTo: (fields, flag) => ({ type: 'local', dest: flag.required('dest'), tag: fields.get('tag') || 'latest' }),
  parseFrom(fields, flag) {
    const digest = fields.get('digest');
    if (digest !== undefined && !/^sha256:[a-f0-9]{64}$/.test(digest))
      throw new UserError(`${flag.flag} "${flag.spec}": digest must be sha256:<64 hex digits>`);
    return { type: 'local', src: flag.required('src'), tag: digest ?? (fields.get('tag') || 'latest') };
  },
  describeTo: (to) => to.dest,
  describeFrom: (from) => `${from.src}${from.tag === 'latest' ? '' : `:${from.tag}`}`,

  async read(from, ctx) {
    const { copyLayoutBlob, readLayoutManifest } = await import('../../registry/oci-layout.js');
    const { manifest } = await readLayoutManifest(from.src, from.tag, ctx.store);
    const source = localCache.describeFrom(from);
    return {
      manifest,
      fetchBlob: (desc) => copyLayoutBlob(from.src, desc, ctx.store, `${source}: blob ${desc.digest}`),
      // a stat: a blob missing or cut short is seen when the step hits, not when an output needs it
      blobLooksWhole: async (desc) =>
        (await stat(join(from.src, 'blobs', 'sha256', desc.digest.slice('sha256:'.length))).catch(() => undefined))
          ?.size === desc.size,
    };
  },

  async write(to, manifest, ctx) {
    const { writeTaggedLayoutDir } = await import('../../exporter/oci-layout-dir.js');
    await writeTaggedLayoutDir(ctx.store, manifest, to.tag, to.dest);
    return '';
  },
};
