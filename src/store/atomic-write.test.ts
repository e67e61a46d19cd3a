import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { writeFileAtomic } from './atomic-write.js';
import { ContentStore } from './content-store.js';

/** The renames and directory fsyncs of the code under test, in order (the real calls still run). */
const calls = vi.hoisted(() => [] as string[]);
vi.mock('node:fs/promises', async (importOriginal) => {
  const real = await importOriginal<typeof import('node:fs/promises')>();
  return {
    ...real,
    rename: async (from: string, to: string) => {
      await real.rename(from, to);
      calls.push(`rename ${to}`);
    },
    open: async (...args: Parameters<typeof real.open>) => {
      const fh = await real.open(...args);
      if ((await fh.stat()).isDirectory()) {
        const sync = fh.sync.bind(fh);
        fh.sync = async () => {
          await sync();
          calls.push(`fsync dir ${String(args[0])}`);
        };
      }
      return fh;
    },
  };
});

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'tsbuild-atomic-'));
  calls.length = 0;
});
afterEach(() => rm(dir, { recursive: true, force: true }));

describe('writeFileAtomic', () => {
  it('fsyncs the directory after the rename, so the new name survives a power loss', async () => {
    const target = join(dir, 'f.json');
    await writeFileAtomic(target, '{}');
    expect(await readFile(target, 'utf8')).toBe('{}');
    expect(calls).toEqual([`rename ${target}`, `fsync dir ${dir}`]);
  });

  it('with sync: false, fsyncs nothing', async () => {
    await writeFileAtomic(join(dir, 'cache'), 'x', { sync: false });
    expect(calls).toEqual([`rename ${join(dir, 'cache')}`]);
  });
});

describe('ContentStore commit', () => {
  it('fsyncs blobs/sha256 after renaming a durable blob in, not after a derived one', async () => {
    const store = new ContentStore(join(dir, 'content'));
    await store.init();
    calls.length = 0;
    const durable = await store.ingest(Readable.from([Buffer.from('from outside')]));
    expect(calls).toEqual([`rename ${store.blobPath(durable.digest)}`, `fsync dir ${store.blobsDir}`]);
    calls.length = 0;
    const derived = await store.ingest(Readable.from([Buffer.from('made here')]), undefined, 'blob', {
      durable: false,
    });
    expect(calls).toEqual([`rename ${store.blobPath(derived.digest)}`]);
    calls.length = 0;
    const put = await store.put('{"config":1}', 'application/json');
    expect(calls).toEqual([`rename ${store.blobPath(put.digest)}`, `fsync dir ${store.blobsDir}`]);
  });
});
