import { createHash } from 'node:crypto';
import { mkdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Transform, type Readable } from 'node:stream';
import { writeFileAtomic } from '../store/atomic-write.js';
import type { ContentStore } from '../store/content-store.js';
import { parseDigest } from '../store/content-store.js';
import type { LayerCompression } from '../image/compress.js';
import { decompressStream } from '../image/decompress.js';
import { createLayerBlob } from '../image/layer-blob.js';
import { abortableWrite } from '../snapshot/layer-blobs.js';
import type { Descriptor, DiffId, Digest } from '../image/types.js';

/**
 * Layer blobs re-encoded at an explicit level (`compression-level=N` or `force-compression=true`),
 * made from any existing blob of the layer and recorded per (diffID, compression, level) under
 * `dir`, so no layer is compressed twice the same way. The records only name blobs; when the
 * blob has been collected from the store the record is ignored and the blob made again.
 */
export class LayerConverter {
  constructor(
    private readonly store: ContentStore,
    private readonly dir: string,
  ) {}

  async convert(
    source: Descriptor,
    diffId: DiffId,
    compression: LayerCompression,
    level: number | undefined,
    signal?: AbortSignal,
  ): Promise<Descriptor> {
    const record = join(this.dir, `${parseDigest(diffId).hex}-${compression}-${level ?? 'default'}.json`);
    try {
      const known = JSON.parse(await readFile(record, 'utf8')) as Descriptor;
      if (await this.store.has(known.digest)) return known;
    } catch {
      // no record yet
    }
    const blob = await createLayerBlob(
      abortableWrite(signal, async (out) => {
        await pipe(verifyDiffId(decompressStream(this.store.openRead(source.digest)), diffId, source.digest), out);
      }),
      this.store,
      { compression, ...(level !== undefined ? { level } : {}) },
    );
    const made: Descriptor = { mediaType: blob.mediaType, digest: blob.digest as Digest, size: blob.size };
    await mkdir(this.dir, { recursive: true });
    await writeFileAtomic(record, JSON.stringify(made));
    return made;
  }
}

/** Passes the tar through, failing at the end if it is not the layer the manifest says it is. */
function verifyDiffId(tar: Readable, diffId: string, blob: string): Readable {
  const hash = createHash('sha256');
  const check = new Transform({
    transform(chunk: Buffer, _enc, cb) {
      hash.update(chunk);
      cb(null, chunk);
    },
    flush(cb) {
      const actual = `sha256:${hash.digest('hex')}`;
      cb(
        actual === diffId
          ? null
          : new Error(
              `layer blob ${blob} unpacks to ${actual}, not its diffID ${diffId}: the content store is damaged`,
            ),
      );
    },
  });
  tar.on('error', (err) => check.destroy(err));
  return tar.pipe(check);
}

function pipe(from: Readable, to: NodeJS.WritableStream): Promise<void> {
  return new Promise((resolve, reject) => {
    from.on('error', reject);
    to.on('error', reject);
    from.on('end', () => {
      to.end();
      resolve();
    });
    from.pipe(to as NodeJS.WritableStream, { end: false });
  });
}
