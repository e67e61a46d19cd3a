/**
 * USTAR + PAX header encoding for layer tars.
 *
 * Not tar-stream's encoder: it writes PAX values through a UTF-8 string (binary xattr values such
 * as security.capability come out corrupted), it saturates uid/gid above 262143 without a PAX
 * record, and it wraps mtimes after 2038. This encoder follows what Go's archive/tar (and so
 * BuildKit and Docker) produce: USTAR when every field fits, otherwise a PAX 'x' header first.
 */

export type TarEntryType = 'file' | 'link' | 'symlink' | 'character-device' | 'block-device' | 'directory' | 'fifo';

export interface TarHeader {
  /** Relative path; directories end with '/'. */
  name: string;
  type: TarEntryType;
  /** Permission bits including setuid/setgid/sticky (0o7777). */
  mode: number;
  uid: number;
  gid: number;
  /** Data size (regular files only). */
  size: number;
  /** Seconds since the epoch. */
  mtime: number;
  /** Target of a symlink or hard link. */
  linkname?: string;
  devmajor?: number;
  devminor?: number;
  /** Extended attributes, written as PAX `SCHILY.xattr.<name>` records. */
  xattrs?: ReadonlyMap<string, Buffer>;
}

export const TAR_BLOCK = 512;
/** Two zero blocks end an archive. */
export const TAR_TRAILER = Buffer.alloc(2 * TAR_BLOCK);

const TYPEFLAG: Record<TarEntryType, string> = {
  file: '0',
  link: '1',
  symlink: '2',
  'character-device': '3',
  'block-device': '4',
  directory: '5',
  fifo: '6',
};

const MAX_OCT7 = 0o7777777; // 8-byte numeric fields: 7 octal digits + NUL
const MAX_OCT11 = 0o77777777777; // 12-byte numeric fields: 11 octal digits + NUL

/** The header block(s) for one entry: an optional PAX header with its data, then the USTAR block. */
export function encodeTarHeader(h: TarHeader): Buffer {
  const pax: Array<[string, Buffer]> = [];
  let name = h.name;
  let prefix = '';
  if (!fitsUstarName(h.name)) {
    pax.push(['path', Buffer.from(h.name, 'utf8')]);
    name = asciiTruncate(h.name, 100);
  } else if (Buffer.byteLength(h.name) > 100) {
    [prefix, name] = splitUstarName(h.name)!;
  }
  let linkname = h.linkname ?? '';
  if (linkname && (!isAscii(linkname) || linkname.length > 100)) {
    pax.push(['linkpath', Buffer.from(linkname, 'utf8')]);
    linkname = asciiTruncate(linkname, 100);
  }
  const num = (key: string, v: number, max: number): number => {
    if (Number.isInteger(v) && v >= 0 && v <= max) return v;
    pax.push([key, Buffer.from(String(v))]);
    return 0;
  };
  const uid = num('uid', h.uid, MAX_OCT7);
  const gid = num('gid', h.gid, MAX_OCT7);
  const size = num('size', h.size, MAX_OCT11);
  const mtime = num('mtime', Math.floor(h.mtime), MAX_OCT11);
  // Sorted so the same xattrs always give the same bytes.
  for (const key of [...(h.xattrs?.keys() ?? [])].sort()) pax.push([`SCHILY.xattr.${key}`, h.xattrs!.get(key)!]);

  const block = ustarBlock({
    name,
    prefix,
    mode: h.mode & 0o7777,
    uid,
    gid,
    size,
    mtime,
    typeflag: TYPEFLAG[h.type],
    linkname,
    devmajor: h.devmajor ?? 0,
    devminor: h.devminor ?? 0,
  });
  if (pax.length === 0) return block;

  const data = Buffer.concat(pax.map(([k, v]) => paxRecord(k, v)));
  const paxName = asciiTruncate(paxHeaderName(h.name), 100);
  const paxBlock = ustarBlock({
    name: paxName,
    prefix: '',
    mode: 0o644,
    uid: 0,
    gid: 0,
    size: data.length,
    mtime: 0,
    typeflag: 'x',
    linkname: '',
    devmajor: 0,
    devminor: 0,
  });
  return Buffer.concat([paxBlock, data, Buffer.alloc(padding(data.length)), block]);
}

/** Zero bytes needed after `size` bytes of entry data to reach a block boundary. */
export function padding(size: number): number {
  const r = size % TAR_BLOCK;
  return r === 0 ? 0 : TAR_BLOCK - r;
}

interface UstarFields {
  name: string;
  prefix: string;
  mode: number;
  uid: number;
  gid: number;
  size: number;
  mtime: number;
  typeflag: string;
  linkname: string;
  devmajor: number;
  devminor: number;
}

function ustarBlock(f: UstarFields): Buffer {
  const b = Buffer.alloc(TAR_BLOCK);
  b.write(f.name, 0, 100, 'utf8');
  writeOctal(b, 100, 8, f.mode);
  writeOctal(b, 108, 8, f.uid);
  writeOctal(b, 116, 8, f.gid);
  writeOctal(b, 124, 12, f.size);
  writeOctal(b, 136, 12, f.mtime);
  b.write(f.typeflag, 156, 1, 'latin1');
  b.write(f.linkname, 157, 100, 'utf8');
  b.write('ustar\u000000', 257, 8, 'latin1');
  writeOctal(b, 329, 8, f.devmajor);
  writeOctal(b, 337, 8, f.devminor);
  b.write(f.prefix, 345, 155, 'utf8');
  // Checksum: byte sum with the checksum field counted as spaces, as 6 digits, NUL, space.
  b.fill(0x20, 148, 156);
  // an indexed loop: a short-lived CLI runs this in V8's interpreter, where for-of over the
  // block's 512 bytes cost ~0.3 ms a header
  let sum = 0;
  for (let i = 0; i < TAR_BLOCK; i++) sum += b[i]!;
  writeDigits(b, 148, 6, sum);
  b[154] = 0;
  b[155] = 0x20;
  return b;
}

function writeOctal(b: Buffer, off: number, len: number, v: number): void {
  if (len === 8 && v > MAX_OCT7) v = MAX_OCT7; // only for devmajor/minor, which have no PAX key
  writeDigits(b, off, len - 1, v);
  b[off + len - 1] = 0;
}

/**
 * `v` (a whole number that fits) in `digits` octal digits, zero-padded, written byte by byte:
 * the strings of toString(8).padStart() were a fifth of a large layer's garbage.
 */
function writeDigits(b: Buffer, off: number, digits: number, v: number): void {
  for (let i = off + digits - 1; i >= off; i--) {
    b[i] = 0x30 + (v % 8);
    v = Math.floor(v / 8);
  }
}

function paxRecord(key: string, value: Buffer): Buffer {
  // "<len> <key>=<value>\n" where <len> counts itself.
  const body = Buffer.byteLength(key) + value.length + 3; // ' ', '=', '\n'
  let len = body + String(body).length;
  if (String(len).length !== String(body).length) len = body + String(len).length;
  return Buffer.concat([Buffer.from(`${len} ${key}=`, 'utf8'), value, Buffer.from('\n')]);
}

function paxHeaderName(name: string): string {
  const trimmed = name.endsWith('/') ? name.slice(0, -1) : name;
  const i = trimmed.lastIndexOf('/');
  const dir = i < 0 ? '' : trimmed.slice(0, i + 1);
  return `${dir}PaxHeaders.0/${trimmed.slice(i + 1)}`;
}

function isAscii(s: string): boolean {
  // biome-ignore lint/suspicious/noControlCharactersInRegex: the ASCII range without NUL is what is being tested for
  return /^[\x01-\x7f]*$/.test(s);
}

function fitsUstarName(name: string): boolean {
  if (!isAscii(name)) return false;
  return name.length <= 100 || splitUstarName(name) !== undefined;
}

/** USTAR's prefix/name split (prefix ≤ 155, name ≤ 100, cut at a '/'), chosen as Go's archive/tar does. */
function splitUstarName(name: string): [string, string] | undefined {
  let length = name.length;
  if (length <= 100) return undefined;
  if (length > 156) length = 156;
  else if (name[length - 1] === '/') length--;
  const i = name.lastIndexOf('/', length - 1);
  const nlen = name.length - i - 1;
  if (i <= 0 || nlen > 100 || nlen === 0 || i > 155) return undefined;
  return [name.slice(0, i), name.slice(i + 1)];
}

function asciiTruncate(s: string, max: number): string {
  // biome-ignore lint/suspicious/noControlCharactersInRegex: the ASCII range without NUL is what is kept
  return s.replace(/[^\x01-\x7f]/g, '_').slice(0, max);
}
