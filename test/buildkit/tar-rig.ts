/** Small tar archives for the ported ADD tests (BuildKit's build theirs with Go's archive/tar). */
import { gzipSync } from 'node:zlib';
import { encodeTarHeader, padding, TAR_TRAILER, type TarEntryType } from '../../src/image/tar-header.js';

export interface TarEntry {
  name: string;
  type?: TarEntryType;
  content?: string;
  mode?: number;
  linkname?: string;
}

export function tarOf(entries: TarEntry[]): Buffer {
  const parts: Buffer[] = [];
  for (const e of entries) {
    const data = Buffer.from(e.content ?? '');
    const type = e.type ?? 'file';
    const size = type === 'file' ? data.length : 0;
    parts.push(
      encodeTarHeader({
        name: e.name,
        type,
        mode: e.mode ?? (type === 'directory' ? 0o755 : 0o644),
        uid: 0,
        gid: 0,
        size,
        mtime: 0,
        ...(e.linkname ? { linkname: e.linkname } : {}),
      }),
    );
    if (size) parts.push(data, Buffer.alloc(padding(size)));
  }
  parts.push(TAR_TRAILER);
  return Buffer.concat(parts);
}

export const gzip = (b: Buffer): Buffer => gzipSync(b);
