import { open } from 'node:fs/promises';

/** True when the file starts like an archive ADD would extract (tar, gzip, bzip2, xz, zstd). */
export async function looksLikeArchive(path: string): Promise<boolean> {
  const fh = await open(path, 'r');
  try {
    const head = Buffer.alloc(512);
    const { bytesRead } = await fh.read(head, 0, 512, 0);
    const b = head.subarray(0, bytesRead);
    if (b.length >= 2 && b[0] === 0x1f && b[1] === 0x8b) return true;
    if (b.length >= 3 && b.toString('latin1', 0, 3) === 'BZh') return true;
    if (b.length >= 6 && b.subarray(0, 6).equals(Buffer.from([0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00]))) return true;
    if (b.length >= 4 && b.readUInt32LE(0) === 0xfd2fb528) return true;
    return b.length >= 262 && b.toString('latin1', 257, 262) === 'ustar';
  } finally {
    await fh.close();
  }
}
