import type { Descriptor } from '../image/types.js';
import type { PusherOptions } from '../registry/push.js';
import type { TransferReporter } from './exporter.js';

/** `sha256:` and the first 12 hex digits, as docker shortens a blob's digest. */
export function shortDigest(digest: string): string {
  return digest.slice(0, 'sha256:'.length + 12);
}

/**
 * A push's byte progress as transfers: one per blob uploaded (its bytes as the registry takes
 * them, and its end); skipped and mounted blobs move no bytes and show none.
 */
export function pushTransfers(report: TransferReporter): Pick<PusherOptions, 'onBytes' | 'onBlob'> {
  const transfer = (d: Descriptor) => ({ id: `push:${d.digest}`, name: `pushing ${shortDigest(d.digest)}` });
  return {
    onBytes: (d, current, total) => report({ ...transfer(d), current, total }),
    onBlob: (d, outcome) => {
      if (outcome === 'uploaded') report({ ...transfer(d), current: d.size, total: d.size, done: true });
    },
  };
}

/** An archive's byte progress as one transfer, named after its file (`-`: stdout; none: into docker). */
export function archiveTransfer(
  report: TransferReporter | undefined,
  dest: string | undefined,
): { onBytes?: (done: number, total: number, finished: boolean) => void } {
  if (!report) return {};
  const t =
    dest === undefined
      ? { id: 'export:docker', name: 'sending the image to docker' }
      : { id: `export:${dest}`, name: `writing ${dest === '-' ? 'to stdout' : dest}` };
  return { onBytes: (current, total, done) => report({ ...t, current, total, ...(done ? { done } : {}) }) };
}
