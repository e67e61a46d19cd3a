import { Transform, type TransformCallback } from 'node:stream';

/**
 * A pass-through placed in front of tar-stream's extractor that keeps each entry's PAX records
 * as raw bytes. tar-stream hands PAX values over as UTF-8-decoded strings, which destroys
 * binary values such as `SCHILY.xattr.security.capability`; this tap lets the unpacker read them
 * exactly. It tracks only the block structure (header, data, padding) and leaves validation to
 * the real reader.
 *
 * `shift()` returns, for each entry the extractor emits (in order), the raw records of the PAX
 * header that preceded it, or undefined.
 */
export class PaxTap extends Transform {
  private readonly queue: Array<Map<string, Buffer> | undefined> = [];
  private header = Buffer.alloc(0);
  private skip = 0;
  private capture: Buffer[] | undefined;
  private captureLeft = 0;
  private pax: Map<string, Buffer> | undefined;

  shift(): Map<string, Buffer> | undefined {
    return this.queue.shift();
  }

  override _transform(chunk: Buffer, _enc: BufferEncoding, cb: TransformCallback): void {
    let off = 0;
    while (off < chunk.length) {
      if (this.skip > 0) {
        const n = Math.min(this.skip, chunk.length - off);
        if (this.capture && this.captureLeft > 0) {
          const take = Math.min(n, this.captureLeft);
          this.capture.push(chunk.subarray(off, off + take));
          this.captureLeft -= take;
        }
        this.skip -= n;
        off += n;
        if (this.skip === 0 && this.capture) {
          this.pax = parsePaxRecords(Buffer.concat(this.capture));
          this.capture = undefined;
        }
        continue;
      }
      const n = Math.min(512 - this.header.length, chunk.length - off);
      this.header = Buffer.concat([this.header, chunk.subarray(off, off + n)]);
      off += n;
      if (this.header.length === 512) {
        this.onHeader(this.header);
        this.header = Buffer.alloc(0);
      }
    }
    cb(null, chunk);
  }

  private onHeader(h: Buffer): void {
    if (h.every((b) => b === 0)) return; // end-of-archive blocks
    const type = String.fromCharCode(h[156]!);
    let size = readSize(h);
    if (type === 'x') {
      this.skip = roundUp(size);
      if (size === 0) {
        this.pax = new Map();
        return;
      }
      this.capture = [];
      this.captureLeft = size;
      return;
    }
    if (type === 'g' || type === 'L' || type === 'K') {
      this.skip = roundUp(size);
      return;
    }
    const pax = this.pax;
    this.pax = undefined;
    this.queue.push(pax);
    const paxSize = pax?.get('size');
    if (paxSize !== undefined) size = Number(paxSize.toString('latin1'));
    // As tar-stream: a directory has no data whatever its size field says.
    this.skip = type === '5' ? 0 : roundUp(size);
  }
}

/** "<len> <key>=<value>\n" records; values kept as bytes. */
export function parsePaxRecords(buf: Buffer): Map<string, Buffer> {
  const out = new Map<string, Buffer>();
  let off = 0;
  while (off < buf.length) {
    const sp = buf.indexOf(0x20, off);
    if (sp < 0) break;
    const len = Number(buf.toString('latin1', off, sp));
    if (!Number.isInteger(len) || len <= 0 || off + len > buf.length) break;
    const rec = buf.subarray(sp + 1, off + len - 1); // without the trailing '\n'
    const eq = rec.indexOf(0x3d);
    if (eq > 0) out.set(rec.toString('utf8', 0, eq), Buffer.from(rec.subarray(eq + 1)));
    off += len;
  }
  return out;
}

function readSize(h: Buffer): number {
  const field = h.subarray(124, 136);
  if (field[0]! & 0x80) {
    // base-256 (GNU) for sizes over 8 GiB
    let v = 0;
    for (let i = 1; i < field.length; i++) v = v * 256 + field[i]!;
    return v;
  }
  const s = field.toString('latin1').replace(/\0.*$/s, '').trim();
  return s ? parseInt(s, 8) : 0;
}

function roundUp(n: number): number {
  return Math.ceil(n / 512) * 512;
}
