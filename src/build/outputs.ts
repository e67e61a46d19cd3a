import type { ContentStore } from '../cache/content-store.js';
import type { Descriptor } from '../image/types.js';
import type { EventSink } from '../solver/events.js';
import type { BuildRequest } from './build-request.js';

/** Writes the image to each requested output; with none, tags it in the state directory. */
export async function exportOutputs(req: BuildRequest, store: ContentStore, manifest: Descriptor, emit: EventSink): Promise<string[]> {
  const done: string[] = [];
  for (const out of req.outputs) {
    const start = Date.now();
    const message = `exporting to ${out.type} archive ${out.dest}`;
    emit({ type: 'status', time: start, message });
    if (out.type === 'oci') {
      const { writeOciArchive } = await import('../exporter/oci-archive.js');
      await writeOciArchive(store, manifest, req.tags, out.dest);
    } else {
      const { writeDockerArchive } = await import('../exporter/docker-archive.js');
      await writeDockerArchive(store, manifest, req.tags, out.dest);
    }
    emit({ type: 'status', time: Date.now(), message, done: true, durationMs: Date.now() - start });
    done.push(`${out.type}:${out.dest}`);
  }
  if (req.tags.length) {
    const { storeImage } = await import('../exporter/local-store.js');
    await storeImage(store, manifest, req.tags);
    done.push(...req.tags.map((t) => `store:${t}`));
  }
  return done;
}
