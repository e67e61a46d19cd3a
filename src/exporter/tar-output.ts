import { createReadStream } from 'node:fs';
import { open, rm } from 'node:fs/promises';
import type { Readable, Writable } from 'node:stream';
import { pack as tarPack, type Headers } from 'tar-stream';
import type { ContentStore } from '../store/content-store.js';
import type { Descriptor } from '../image/types.js';
import { UserError } from '../errors.js';
import {
  COMMITTED,
  outputError,
  outputTempName,
  pendingRename,
  sweepDeadTemps,
  type ExportOptions,
  type PendingOutput,
} from './pending-output.js';

/** A file of an archive: literal bytes, or a blob streamed from the content store. */
export type ArchiveFile = { name: string; data: Buffer } | { name: string; blob: Descriptor };

/**
 * Writes a reproducible tar: entries sorted by name, parent directories added, every timestamp
 * 0 and owner root, so the same image always gives a byte-identical archive.
 * `dest` `-` is stdout; otherwise the archive is written beside `dest` and renamed into place
 * once complete and fsynced, so a failed or interrupted export never leaves a partial archive.
 */
export async function writeArchive(
  store: ContentStore,
  files: ArchiveFile[],
  dest: string,
  kind: string,
): Promise<void> {
  await (await prepareArchive(store, files, dest, kind)).commit();
}

/** writeArchive up to the rename: the archive complete and fsynced beside `dest`, waiting for commit. */
export async function prepareArchive(
  store: ContentStore,
  files: ArchiveFile[],
  dest: string,
  kind: string,
  opts: ExportOptions = {},
): Promise<PendingOutput> {
  opts.signal?.throwIfAborted();
  const entries = withParentDirs(files).sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  const what = `cannot write the ${kind} archive ${dest}`;
  if (dest === '-') {
    if (process.stdout.isTTY)
      throw new UserError(`refusing to write the ${kind} archive to a terminal`, {
        hint: 'redirect stdout to a file, or set dest=FILE',
      });
    await produce(
      store,
      entries,
      (chunk) => (process.stdout.write(chunk) ? Promise.resolve() : writable(process.stdout)),
      opts.onBytes,
    );
    return COMMITTED;
  }
  await sweepDeadTemps(dest);
  const tmp = outputTempName(dest);
  let fh;
  try {
    fh = await open(tmp, 'wx', 0o644);
  } catch (err) {
    throw outputError(err, what);
  }
  try {
    const file = fh;
    // Few large writes: per-call cost dominates writing a big archive in small pieces.
    let batch: Buffer[] = [];
    let batchSize = 0;
    const flush = async () => {
      if (!batchSize) return;
      const data = batch.length === 1 ? batch[0]! : Buffer.concat(batch, batchSize);
      batch = [];
      batchSize = 0;
      // FileHandle.write may write less than asked (it reports how much): write the rest too
      for (let off = 0; off < data.length; ) {
        const { bytesWritten } = await file.write(data, off, data.length - off);
        if (bytesWritten === 0) throw Object.assign(new Error('no space left on device, write'), { code: 'ENOSPC' });
        off += bytesWritten;
      }
    };
    await produce(
      store,
      entries,
      async (chunk) => {
        opts.signal?.throwIfAborted();
        batch.push(chunk);
        batchSize += chunk.length;
        if (batchSize >= WRITE_BATCH) await flush();
      },
      opts.onBytes,
    );
    await flush();
    await fh.sync();
    // close can fail too (a delayed write error on network filesystems): it is awaited, not dropped
    const closing = fh;
    fh = undefined;
    await closing.close();
  } catch (err) {
    await fh?.close().catch(() => {});
    await rm(tmp, { force: true });
    throw outputError(err, what);
  }
  return pendingRename(tmp, dest, what);
}

/**
 * Streams the archive into `out` (a pipe to another program), each chunk written before the next
 * is made; rejects when `out` closes before the end. The caller ends `out`'s use: this does not end it.
 */
export async function streamArchive(
  store: ContentStore,
  files: ArchiveFile[],
  out: Writable,
  opts: ExportOptions = {},
): Promise<void> {
  const entries = withParentDirs(files).sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  await produce(
    store,
    entries,
    (chunk) => {
      opts.signal?.throwIfAborted();
      return out.write(chunk) ? Promise.resolve() : writable(out);
    },
    opts.onBytes,
  );
}

type Entry = ArchiveFile | { name: string; directory: true };

function withParentDirs(files: ArchiveFile[]): Entry[] {
  const dirs = new Set<string>();
  for (const f of files) {
    const parts = f.name.split('/');
    for (let i = 1; i < parts.length; i++) dirs.add(`${parts.slice(0, i).join('/')}/`);
  }
  return [...[...dirs].map((name) => ({ name, directory: true as const })), ...files];
}

const FIXED = { mtime: new Date(0), uid: 0, gid: 0, uname: '', gname: '' } satisfies Partial<Headers>;
const WRITE_BATCH = 4 << 20;
/** Blobs are read in large pieces too (the store's default stream reads 64 KiB at a time). */
const READ_CHUNK = 4 << 20;

type Pack = ReturnType<typeof tarPack>;

/**
 * Packs `entries` and hands the tar to `write` chunk by chunk, each written before the next is
 * made; `onBytes` hears how much of the tar's size (known beforehand) was handed over.
 */
async function produce(
  store: ContentStore,
  entries: Entry[],
  write: (chunk: Buffer) => Promise<void>,
  onBytes?: ExportOptions['onBytes'],
): Promise<void> {
  const pack = tarPack();
  const total = tarSize(entries);
  let written = 0;
  const drain = (async () => {
    onBytes?.(0, total, false);
    for await (const chunk of pack) {
      await write(chunk);
      written += chunk.length;
      onBytes?.(written, Math.max(total, written), false);
    }
    onBytes?.(written, written, true);
  })();
  const fill = (async () => {
    for (const e of entries) {
      if ('directory' in e) await addEntry(pack, { ...FIXED, name: e.name, type: 'directory', mode: 0o755 });
      else if ('data' in e)
        await addEntry(pack, { ...FIXED, name: e.name, type: 'file', mode: 0o644, size: e.data.length }, e.data);
      else
        await addEntry(
          pack,
          { ...FIXED, name: e.name, type: 'file', mode: 0o644, size: e.blob.size },
          createReadStream(store.blobPath(e.blob.digest), { highWaterMark: READ_CHUNK }),
        );
    }
    pack.finalize();
  })();
  try {
    await Promise.all([fill, drain]);
  } catch (err) {
    // destroying the pack fails the entry being written, so neither side is left waiting
    pack.destroy(err as Error);
    await Promise.allSettled([fill, drain]);
    throw err;
  }
}

/** The tar's size: a 512-byte header per entry, contents padded to 512 bytes, two zero blocks at the end. */
function tarSize(entries: Entry[]): number {
  let size = 1024;
  for (const e of entries) {
    const n = 'directory' in e ? 0 : 'data' in e ? e.data.length : e.blob.size;
    size += 512 + Math.ceil(n / 512) * 512;
  }
  return size;
}

/** Adds one entry and resolves once tar-stream has taken all of it (its callback, which also reports failure). */
async function addEntry(pack: Pack, header: Headers, body?: Buffer | Readable): Promise<void> {
  let sink: Writable | undefined;
  const done = new Promise<void>((resolve, reject) => {
    sink = Buffer.isBuffer(body)
      ? pack.entry(header, body, (err) => (err ? reject(err) : resolve()))
      : pack.entry(header, (err) => (err ? reject(err) : resolve()));
  });
  if (!sink) return done; // pack.entry threw: the pack is already destroyed
  // The callback may fail while the body is still being read (the pack destroyed because the
  // file could not be written): handled here, or node ends the process on an unhandled rejection.
  done.catch(() => {});
  // Failures arrive through the callback; without a listener, streamx would also throw them as 'error' events.
  sink.on('error', () => {});
  if (body && !Buffer.isBuffer(body)) {
    try {
      for await (const chunk of body) {
        if (!sink.write(chunk)) await writable(sink);
      }
      sink.end();
    } catch (err) {
      body.destroy();
      sink.destroy(err as Error);
      await done.catch(() => {});
      throw err;
    }
  } else if (!body) {
    sink.end();
  }
  await done;
}

/** Resolves when `w` wants more data; rejects if it closes first (so a dead consumer cannot hang us). */
function writable(w: Writable): Promise<void> {
  return new Promise((resolve, reject) => {
    // Destroyed already (the pack failed between two writes): its 'close' has passed and will not come again.
    if (w.destroyed || (w as Writable & { destroying?: boolean }).destroying) {
      reject(new Error('output closed before the archive was complete'));
      return;
    }
    const cleanup = () => {
      w.off('drain', onDrain);
      w.off('close', onClose);
    };
    const onDrain = () => {
      cleanup();
      resolve();
    };
    const onClose = () => {
      cleanup();
      reject(new Error('output closed before the archive was complete'));
    };
    w.on('drain', onDrain);
    w.on('close', onClose);
  });
}
