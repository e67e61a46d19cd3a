import { execFileSync } from 'node:child_process';
import { Readable } from 'node:stream';
import tarStream from 'tar-stream';
import { describe, expect, it } from 'vitest';
import { PaxTap } from './pax-tap.js';
import { TAR_TRAILER, encodeTarHeader, padding, type TarHeader } from './tar-header.js';

function archive(entries: Array<TarHeader & { body?: Buffer }>): Buffer {
  const parts: Buffer[] = [];
  for (const e of entries) {
    parts.push(encodeTarHeader(e));
    if (e.body) parts.push(e.body, Buffer.alloc(padding(e.body.length)));
  }
  parts.push(TAR_TRAILER);
  return Buffer.concat(parts);
}

const base = { mode: 0o644, uid: 0, gid: 0, size: 0, mtime: 1_700_000_000 };

describe('encodeTarHeader', () => {
  it('uses plain USTAR when everything fits, PAX otherwise, readable by tar-stream and GNU tar', async () => {
    const split = `${'p'.repeat(120)}/${'n'.repeat(90)}`;
    const long = `${'x'.repeat(200)}/${'y'.repeat(120)}`;
    const cap = Buffer.from([1, 0, 0, 2, 0xc0, 0x20, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]);
    const entries: Array<TarHeader & { body?: Buffer }> = [
      { ...base, name: 'short', type: 'file', size: 2, body: Buffer.from('hi') },
      { ...base, name: split, type: 'file' },
      { ...base, name: long, type: 'file' },
      { ...base, name: 'ünï/', type: 'directory', mode: 0o2755 },
      { ...base, name: 'big-ids', type: 'file', uid: 5_000_000, gid: 3_000_000 },
      { ...base, name: 'future', type: 'file', mtime: 2 ** 34 },
      { ...base, name: 'l', type: 'symlink', linkname: 'z'.repeat(150) },
      { ...base, name: 'caps', type: 'file', xattrs: new Map([['security.capability', cap]]) },
    ];
    const tar = archive(entries);
    expect(encodeTarHeader(entries[0]!).length).toBe(512);
    expect(encodeTarHeader(entries[1]!).length).toBe(512); // prefix/name split, no PAX

    const seen: Array<{ h: tarStream.Headers & { pax?: Record<string, string> }; raw?: Map<string, Buffer> }> = [];
    const tap = new PaxTap();
    const extract = tarStream.extract();
    Readable.from([tar]).pipe(tap).pipe(extract);
    for await (const e of extract) {
      seen.push({ h: e.header, raw: tap.shift() });
      e.resume();
    }
    expect(seen.map((s) => s.h.name)).toEqual(entries.map((e) => e.name));
    expect(seen[3]!.h.mode).toBe(0o2755);
    expect(seen[4]!.h.pax).toMatchObject({ uid: '5000000', gid: '3000000' });
    expect(seen[5]!.h.pax).toMatchObject({ mtime: String(2 ** 34) });
    expect(seen[6]!.h.linkname).toBe('z'.repeat(150));
    expect(seen[7]!.raw?.get('SCHILY.xattr.security.capability')).toEqual(cap);
    expect(seen[0]!.raw).toBeUndefined();

    const listing = execFileSync('tar', ['--numeric-owner', '-tvf', '-'], { input: tar }).toString();
    expect(listing).toContain('5000000/3000000');
    expect(listing).toContain(long);
  });

  it('writes numeric fields as zero-padded octal with a NUL, and the checksum as 6 digits, NUL, space', () => {
    const h = encodeTarHeader({
      ...base,
      name: 'n',
      type: 'character-device',
      mode: 0o4755,
      uid: 0o7777777,
      gid: 1,
      size: 0o77777777777,
      mtime: 1_700_000_000,
      devmajor: 2 ** 30, // no PAX key: the largest value that fits
      devminor: 9,
    });
    const field = (off: number, len: number) => h.toString('latin1', off, off + len);
    expect(field(100, 8)).toBe('0004755\0');
    expect(field(108, 8)).toBe('7777777\0');
    expect(field(116, 8)).toBe('0000001\0');
    expect(field(124, 12)).toBe('77777777777\0');
    expect(field(136, 12)).toBe(`${(1_700_000_000).toString(8)}\0`);
    expect(field(329, 8)).toBe('7777777\0');
    expect(field(337, 8)).toBe('0000011\0');
    let sum = 0;
    for (let i = 0; i < 512; i++) sum += i >= 148 && i < 156 ? 0x20 : h[i]!;
    expect(field(148, 8)).toBe(`${sum.toString(8).padStart(6, '0')}\0 `);
  });
});
