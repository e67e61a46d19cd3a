import { execFileSync } from 'node:child_process';
import { chmod, chown, link, mkdir, mkdtemp, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough, Readable, Writable } from 'node:stream';
import tarStream from 'tar-stream';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { isLayerEmpty, writeLayerTar } from './layer-tar.js';
import { mountOverlay, unmount } from './overlay.js';
import { duSync } from './snapshot-store.js';

let tmp: string;
let mounted: string | undefined;

beforeEach(async () => {
  tmp = await mkdtemp(join(tmpdir(), 'tsbuild-layertar-test-'));
});

afterEach(async () => {
  if (mounted) await unmount(mounted).catch(() => execFileSync('umount', ['-l', mounted!]));
  mounted = undefined;
  await rm(tmp, { recursive: true, force: true });
});

interface ListedEntry {
  name: string;
  type: string;
  mode: number;
  uid: number;
  gid: number;
  size: number;
  linkname?: string;
  devmajor?: number;
  devminor?: number;
  content?: string;
}

async function tarBytes(layerDir: string, opts?: Parameters<typeof writeLayerTar>[2]): Promise<Buffer> {
  const out = new PassThrough();
  const chunks: Buffer[] = [];
  out.on('data', (c: Buffer) => chunks.push(c));
  await writeLayerTar(layerDir, out, opts);
  return Buffer.concat(chunks);
}

async function list(tar: Buffer): Promise<ListedEntry[]> {
  const entries: ListedEntry[] = [];
  const extract = tarStream.extract();
  Readable.from([tar]).pipe(extract);
  for await (const e of extract) {
    const chunks: Buffer[] = [];
    for await (const c of e) chunks.push(c as Buffer);
    const h = e.header;
    const entry: ListedEntry = { name: h.name, type: h.type!, mode: h.mode!, uid: h.uid!, gid: h.gid!, size: h.size! };
    if (h.linkname) entry.linkname = h.linkname;
    if (h.type === 'character-device' || h.type === 'block-device')
      Object.assign(entry, { devmajor: h.devmajor, devminor: h.devminor });
    if (h.type === 'file' && h.size) entry.content = Buffer.concat(chunks).toString('utf8');
    entries.push(entry);
  }
  return entries;
}

const byName = (entries: ListedEntry[]) => new Map(entries.map((e) => [e.name, e]));

/** Two lowers and a RUN-like session of changes through a real overlay mount. */
async function runStep(): Promise<{ lower1: string; lower2: string; upper: string }> {
  const lower1 = join(tmp, 'l1');
  const lower2 = join(tmp, 'l2');
  const upper = join(tmp, 'upper');
  const work = join(tmp, 'work');
  const target = join(tmp, 'merged');
  for (const d of [lower1, lower2, upper, work, target]) await mkdir(d, { recursive: true });
  await mkdir(join(lower2, 'etc'));
  await writeFile(join(lower2, 'etc', 'keep'), 'k');
  await writeFile(join(lower2, 'etc', 'gone'), 'g');
  await writeFile(join(lower2, 'etc', 'gone2'), 'g');
  await mkdir(join(lower2, 'replaced'));
  await writeFile(join(lower2, 'replaced', 'old'), 'o');
  await mkdir(join(lower2, 'var', 'log'), { recursive: true });
  await mkdir(join(lower2, 'modedir'));
  await writeFile(join(lower1, 'a.txt'), 'a');
  await mkdir(join(lower1, 'etc'));
  await writeFile(join(lower1, 'etc', 'froml1'), '1');

  await mountOverlay({ lowerDirs: [lower1, lower2], upperDir: upper, workDir: work, target });
  mounted = target;
  const m = (...p: string[]) => join(target, ...p);
  await rm(m('etc', 'gone'));
  await rm(m('etc', 'gone2'));
  await rm(m('replaced'), { recursive: true });
  await mkdir(m('replaced'));
  await writeFile(m('replaced', 'new'), 'n');
  // Creating and removing a file copies var/ and var/log/ up without changing them.
  await writeFile(m('var', 'log', 'tmp'), 't');
  await rm(m('var', 'log', 'tmp'));
  await chmod(m('modedir'), 0o700);
  await mkdir(m('new'));
  await writeFile(m('new', 'file.txt'), 'hello');
  await chown(m('new', 'file.txt'), 1234, 5678);
  await chmod(m('new', 'file.txt'), 0o640);
  await symlink('../a.txt', m('new', 'link'));
  await writeFile(m('new', 'hard1'), 'same');
  await link(m('new', 'hard1'), m('new', 'hard2'));
  await writeFile(m('new', 'suid'), '#!/bin/sh\n');
  await chmod(m('new', 'suid'), 0o4755);
  await mkdir(m('new', 'tmp'));
  await chmod(m('new', 'tmp'), 0o1777);
  execFileSync('mkfifo', [m('new', 'fifo')]);
  execFileSync('mknod', [m('new', 'null'), 'c', '1', '3']);
  await writeFile(m('new', 'captool'), 'x');
  execFileSync('setcap', ['cap_setuid,cap_net_raw+ep', m('new', 'captool')]);
  const deep = m('new', 'd'.repeat(60), 'e'.repeat(60));
  await mkdir(deep, { recursive: true });
  await writeFile(join(deep, `${'f'.repeat(80)}-ünïcode`), 'deep');
  await unmount(target);
  mounted = undefined;
  return { lower1, lower2, upper };
}

describe('writeLayerTar', () => {
  it('turns an overlay upperdir into OCI layer entries', async () => {
    const { lower1, lower2, upper } = await runStep();
    const tar = await tarBytes(upper, { lowerDirs: [lower1, lower2] });
    const entries = await list(tar);
    const names = entries.map((e) => e.name);
    expect(names).toEqual([...names].sort((a, b) => Buffer.compare(Buffer.from(a), Buffer.from(b))));
    const e = byName(entries);

    expect(e.get('etc/')?.type).toBe('directory');
    for (const n of ['etc/.wh.gone', 'etc/.wh.gone2']) {
      // overlayfs links all whiteouts to one shared device; they must not become tar hard links
      expect(e.get(n)).toMatchObject({ type: 'file', size: 0 });
    }
    expect(e.has('etc/keep')).toBe(false);
    expect(e.get('replaced/')?.type).toBe('directory');
    expect(e.get('replaced/.wh..wh..opq')).toMatchObject({ type: 'file', size: 0 });
    expect(e.get('replaced/new')?.content).toBe('n');
    expect(e.has('var/')).toBe(false);
    expect(e.has('var/log/')).toBe(false);
    expect(e.get('modedir/')?.mode).toBe(0o700);
    expect(e.get('new/file.txt')).toMatchObject({ type: 'file', mode: 0o640, uid: 1234, gid: 5678, content: 'hello' });
    expect(e.get('new/link')).toMatchObject({ type: 'symlink', linkname: '../a.txt' });
    expect(e.get('new/hard1')).toMatchObject({ type: 'file', content: 'same' });
    expect(e.get('new/hard2')).toMatchObject({ type: 'link', linkname: 'new/hard1' });
    expect(e.get('new/suid')?.mode).toBe(0o4755);
    expect(e.get('new/tmp/')).toMatchObject({ type: 'directory', mode: 0o1777 });
    expect(e.get('new/fifo')?.type).toBe('fifo');
    expect(e.get('new/null')).toMatchObject({ type: 'character-device', devmajor: 1, devminor: 3 });
    const deepName = `new/${'d'.repeat(60)}/${'e'.repeat(60)}/${'f'.repeat(80)}-ünïcode`;
    expect(e.get(deepName)?.content).toBe('deep');
    // No overlay bookkeeping (origin, impure…) leaks into the tar.
    expect(tar.includes('trusted.overlay')).toBe(false);

    // security.capability travels as a binary PAX record, byte for byte.
    const cap = execFileSync('getfattr', [
      '--absolute-names',
      '--only-values',
      '-n',
      'security.capability',
      join(upper, 'new', 'captool'),
    ]);
    const key = Buffer.from(' SCHILY.xattr.security.capability=');
    const at = tar.indexOf(key);
    expect(at).toBeGreaterThan(0);
    expect(tar.subarray(at + key.length, at + key.length + cap.length).equals(cap)).toBe(true);
    expect(cap.some((b) => b >= 0x80)).toBe(true);

    // GNU tar agrees with the format, PAX names and hard links included.
    const gnu = execFileSync('tar', ['-tvf', '-'], { input: tar }).toString().trim().split('\n');
    expect(
      gnu.map((l) =>
        l
          .split(/\s+/)
          .slice(5)
          .join(' ')
          .replace(/ (->|link to) .*$/, ''),
      ),
    ).toEqual(names);
  });

  it('keeps unchanged copied-up dirs when no chain is given, and is deterministic', async () => {
    const { upper } = await runStep();
    const e = byName(await list(await tarBytes(upper)));
    expect(e.get('var/')?.type).toBe('directory');
    expect(e.get('var/log/')?.type).toBe('directory');
    expect((await tarBytes(upper)).equals(await tarBytes(upper))).toBe(true);
  });

  it('looks through the whole chain: a dir hidden by an opaque or deleted parent above is new', async () => {
    const top = join(tmp, 'top');
    const bottom = join(tmp, 'bottom');
    const layer = join(tmp, 'layer');
    await mkdir(join(bottom, 'x', 'y'), { recursive: true });
    await mkdir(join(bottom, 'p', 'q'), { recursive: true });
    await mkdir(join(bottom, 's', 't'), { recursive: true });
    await mkdir(join(top, 'x'), { recursive: true });
    execFileSync('setfattr', ['-n', 'trusted.overlay.opaque', '-v', 'y', join(top, 'x')]);
    await mkdir(top, { recursive: true });
    execFileSync('mknod', [join(top, 'p'), 'c', '0', '0']);
    await mkdir(join(top, 's'));
    await mkdir(join(layer, 'x', 'y'), { recursive: true });
    await mkdir(join(layer, 'p', 'q'), { recursive: true });
    await mkdir(join(layer, 's', 't'), { recursive: true });
    const names = (await list(await tarBytes(layer, { lowerDirs: [top, bottom] }))).map((e) => e.name);
    // x/y: x is opaque in top, so bottom's x/y is not visible; p was deleted in top; s/t is visible.
    expect(names).toEqual(['p/', 'p/q/', 'x/', 'x/y/']);
    expect(await isLayerEmpty(layer, { lowerDirs: [top, bottom] })).toBe(false);
  });

  it('tells the disk usage of the layer dir it listed, as du counts it (hard links, whiteouts, an empty dir)', async () => {
    const { lower1, lower2, upper } = await runStep();
    let seen: number | undefined;
    await tarBytes(upper, { lowerDirs: [lower1, lower2], onDiskUsage: (b) => (seen = b) });
    expect(seen).toBe(duSync(upper));
    const empty = join(tmp, 'empty-layer');
    await mkdir(empty);
    seen = undefined;
    await tarBytes(empty, { onDiskUsage: (b) => (seen = b) });
    expect(seen).toBe(duSync(empty));
    expect(seen).toBeGreaterThan(0);
  });

  it('reports an empty diff', async () => {
    const lower = join(tmp, 'lower');
    const layer = join(tmp, 'layer');
    await mkdir(join(lower, 'usr', 'lib'), { recursive: true });
    await mkdir(layer);
    expect(await isLayerEmpty(layer)).toBe(true);
    await mkdir(join(layer, 'usr', 'lib'), { recursive: true });
    expect(await isLayerEmpty(layer)).toBe(false);
    expect(await isLayerEmpty(layer, { lowerDirs: [lower] })).toBe(true);
    const tar = await tarBytes(layer, { lowerDirs: [lower] });
    expect(tar.length).toBe(1024);
    expect(tar.every((b) => b === 0)).toBe(true);
    await writeFile(join(layer, 'usr', 'lib', 'f'), '');
    expect(await isLayerEmpty(layer, { lowerDirs: [lower] })).toBe(false);
  });
});

describe('chunking', () => {
  it('keeps every byte across many chunks: files read straight into them, large ones in pieces, a slow reader', async () => {
    const layer = join(tmp, 'layer');
    await mkdir(join(layer, 'small'), { recursive: true });
    const want = new Map<string, Buffer>();
    const fill = (n: number, seed: number) => Buffer.from(Array.from({ length: n }, (_, i) => (i * 31 + seed) & 0xff));
    // ~9 MB in all: small files around the 256 KiB read-at-once limit and chunk edges, large
    // files read in 1 MiB pieces (one not a multiple of 512), empty files and headers between
    for (let i = 0; i < 40; i++)
      want.set(
        `small/f${String(i).padStart(2, '0')}`,
        fill([0, 1, 511, 512, 513, 100_000, 262_144, 262_145][i % 8]!, i),
      );
    want.set('big-a', fill((3 << 20) + 77, 1));
    want.set('big-b', fill(4 << 20, 2));
    for (const [rel, data] of want) await writeFile(join(layer, rel), data);
    const slow = new PassThrough({ highWaterMark: 1024 });
    const chunks: Buffer[] = [];
    slow.on('data', (c: Buffer) => {
      chunks.push(c); // kept as handed over: a writer that reused a chunk would change what we hold
      slow.pause();
      setTimeout(() => slow.resume(), 1);
    });
    await writeLayerTar(layer, slow);
    await new Promise((r) => slow.once('end', r));
    const tar = Buffer.concat(chunks);
    const got = new Map<string, Buffer>();
    const extract = tarStream.extract();
    Readable.from([tar]).pipe(extract);
    for await (const e of extract) {
      const parts: Buffer[] = [];
      for await (const c of e) parts.push(c as Buffer);
      if (e.header.type === 'file') got.set(e.header.name, Buffer.concat(parts));
    }
    expect([...got.keys()].sort()).toEqual([...want.keys()].sort());
    for (const [rel, data] of want) expect(got.get(rel)!.equals(data), rel).toBe(true);
    // and GNU tar reads the same archive
    expect(
      execFileSync('tar', ['-tf', '-'], { input: tar, maxBuffer: 1 << 20 })
        .toString()
        .trim()
        .split('\n').length,
    ).toBe(want.size + 1);
  });
});

describe('reuseWritten', () => {
  it('fills the chunks the output is done with again: the same bytes from a few buffers', async () => {
    const layer = join(tmp, 'layer');
    await mkdir(layer);
    // ~28 MB: seven 4 MiB chunks' worth, in files of all sizes
    for (let i = 0; i < 36; i++)
      await writeFile(join(layer, `f${i}`), Buffer.alloc([1000, 300_000, 2_000_000][i % 3]!, i));
    const buffers = new Set<ArrayBufferLike>();
    const copies: Buffer[] = [];
    const out = new Writable({
      highWaterMark: 8 << 20,
      write(chunk: Buffer, _enc, cb) {
        buffers.add(chunk.buffer);
        copies.push(Buffer.from(chunk)); // done with the chunk once called back
        setTimeout(cb, 1);
      },
    });
    const done = new Promise((resolve) => out.once('finish', resolve));
    await writeLayerTar(layer, out, { reuseWritten: true });
    await done;
    expect(Buffer.concat(copies).equals(await tarBytes(layer))).toBe(true);
    // the growing first chunks, then at most three 4 MiB ones: two waiting in `out`, one filling
    expect(buffers.size).toBeLessThanOrEqual(6);
  });
});

describe('clampMtime (SOURCE_DATE_EPOCH)', () => {
  it('no entry is later than the clamp; older mtimes are kept; the bytes are then the same whenever files were written', async () => {
    const layer = join(tmp, 'layer');
    await mkdir(join(layer, 'dir'), { recursive: true });
    await writeFile(join(layer, 'dir', 'new'), 'made now\n');
    await writeFile(join(layer, 'old'), 'made long ago\n');
    const { utimes } = await import('node:fs/promises');
    await utimes(join(layer, 'old'), 1_000_000, 1_000_000);
    const epoch = 1_700_000_000;
    const mtimes = async (opts?: Parameters<typeof writeLayerTar>[2]) => {
      const out: Record<string, number> = {};
      const extract = tarStream.extract();
      Readable.from([await tarBytes(layer, opts)]).pipe(extract);
      for await (const e of extract) {
        out[e.header.name] = e.header.mtime!.getTime() / 1000;
        e.resume();
      }
      return out;
    };
    expect(await mtimes({ clampMtime: epoch })).toEqual({ 'dir/': epoch, 'dir/new': epoch, old: 1_000_000 });
    const first = await tarBytes(layer, { clampMtime: epoch });
    await utimes(join(layer, 'dir', 'new'), new Date(), new Date());
    expect((await tarBytes(layer, { clampMtime: epoch })).equals(first)).toBe(true);
    expect((await mtimes())['dir/new']).toBeGreaterThan(epoch);
  });
});
