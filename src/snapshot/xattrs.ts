import { chmodSync, lstatSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { chunkArgs, runTool, runToolChecked } from '../process/run-tool.js';

/** path → (xattr name → raw value). */
export type XattrMap = Map<string, Map<string, Buffer>>;

/**
 * Every xattr (all namespaces, symlinks not followed) under `root`. Keys are paths relative to
 * root ('' for root itself). Only files that have xattrs appear, so on a typical layer the output
 * is tiny even when the tree is large.
 *
 * Calls made in the same turn of the event loop share one `getfattr -R` over all their roots: an
 * export asks for every layer of the image at once, and one spawn per layer was ~3 ms each.
 */
export function dumpXattrTree(root: string): Promise<XattrMap> {
  const abs = resolve(root);
  return new Promise((res, rej) => {
    if (!queued) {
      queued = new Map();
      setImmediate(flushDumps);
    }
    const waiting = queued.get(abs) ?? [];
    waiting.push({ resolve: res, reject: rej });
    queued.set(abs, waiting);
  });
}

type DumpWaiter = { resolve(m: XattrMap): void; reject(e: Error): void };
let queued: Map<string, DumpWaiter[]> | undefined;

function flushDumps(): void {
  const batch = queued!;
  queued = undefined;
  const roots = [...batch.keys()];
  dumpTrees(roots).then(
    (maps) => {
      for (const [i, ws] of [...batch.values()].entries()) for (const w of ws) w.resolve(maps[i]!);
    },
    (err: Error) => {
      for (const ws of batch.values()) for (const w of ws) w.reject(err);
    },
  );
}

async function dumpTrees(roots: string[]): Promise<XattrMap[]> {
  const maps = roots.map(() => new Map() as XattrMap);
  const index = new Map(roots.map((r, i) => [r, i]));
  for (const group of chunkArgs(roots)) {
    const r = await runTool('getfattr', [
      '-R',
      '-h',
      '--absolute-names',
      '-d',
      '-m',
      '-',
      '-e',
      'base64',
      '--',
      ...group,
    ]);
    // A layer dir is ours: any file getfattr cannot read is a real problem, not something to skip.
    if (r.code !== 0) throw new Error(`getfattr -R ${group.join(' ')} failed (exit ${r.code}): ${r.stderr}`);
    for (const [path, attrs] of parseDump(r.stdout)) {
      // the root a path is under: its longest prefix among the roots asked for
      let root = path;
      while (!index.has(root) && root !== '/' && root !== '.') root = dirname(root);
      const i = index.get(root);
      if (i === undefined) continue;
      maps[i]!.set(path === root ? '' : path.slice(root === '/' ? 1 : root.length + 1), attrs);
    }
  }
  return maps;
}

/**
 * Values of the xattrs matching `pattern` (a getfattr regex) on the given absolute paths, batched
 * into as few spawns as ARG_MAX allows. Paths without a match are absent from the result.
 */
export async function readXattrs(paths: string[], pattern: string): Promise<XattrMap> {
  const out: XattrMap = new Map();
  for (const group of chunkArgs(paths)) {
    const stdout = await runToolChecked('getfattr', [
      '-h',
      '--absolute-names',
      '-d',
      '-m',
      pattern,
      '-e',
      'base64',
      '--',
      ...group,
    ]);
    for (const [path, attrs] of parseDump(stdout)) out.set(path, attrs);
  }
  return out;
}

export interface XattrWrite {
  path: string;
  name: string;
  value: Buffer;
}

/** Sets many xattrs with one `setfattr --restore` spawn (symlinks not followed). */
export async function writeXattrs(writes: XattrWrite[]): Promise<void> {
  if (writes.length === 0) return;
  const parts: Buffer[] = [];
  for (const w of writes) {
    parts.push(Buffer.from(`# file: ${quote(w.path)}\n${quote(w.name)}=0s${w.value.toString('base64')}\n\n`, 'utf8'));
  }
  // user.* xattrs need write permission, which root has anyway: a user other than root (isolation
  // chroot) opens its own read-only files and dirs for the write and gives them their mode back
  const reopen = process.geteuid?.() === 0 ? [] : readOnly(writes);
  for (const [path, mode] of reopen) chmodSync(path, mode | 0o200);
  try {
    await runToolChecked('setfattr', ['-h', '--restore=-'], { input: Buffer.concat(parts) });
  } finally {
    for (const [path, mode] of reopen) chmodSync(path, mode);
  }
}

/** The written paths their owner may not write (symlinks aside: they take no user xattrs), with their modes. */
function readOnly(writes: XattrWrite[]): Map<string, number> {
  const out = new Map<string, number>();
  for (const w of writes) {
    if (out.has(w.path)) continue;
    const st = lstatSync(w.path, { throwIfNoEntry: false });
    if (st && !st.isSymbolicLink() && (st.mode & 0o200) === 0) out.set(w.path, st.mode & 0o7777);
  }
  return out;
}

/** Parses getfattr's dump format (`# file: …`, `name=0s<base64>`, blank line). */
export function parseDump(text: Buffer): XattrMap {
  const out: XattrMap = new Map();
  let current: Map<string, Buffer> | undefined;
  for (const raw of text.toString('utf8').split('\n')) {
    if (raw.startsWith('# file: ')) {
      current = new Map();
      out.set(unquote(raw.slice(8)), current);
      continue;
    }
    if (raw === '' || raw.startsWith('#') || !current) continue;
    const eq = raw.indexOf('=');
    if (eq < 0) {
      current.set(unquote(raw), Buffer.alloc(0));
      continue;
    }
    current.set(unquote(raw.slice(0, eq)), decodeValue(raw.slice(eq + 1)));
  }
  return out;
}

function decodeValue(v: string): Buffer {
  if (v.startsWith('0s')) return Buffer.from(v.slice(2), 'base64');
  if (v.startsWith('0x')) return Buffer.from(v.slice(2), 'hex');
  if (v.startsWith('"') && v.endsWith('"')) return Buffer.from(unquote(v.slice(1, -1)), 'latin1');
  return Buffer.from(v, 'utf8');
}

/** getfattr/setfattr escape control characters, `\` and `=` as `\ooo` octal bytes. */
function unquote(s: string): string {
  if (!s.includes('\\')) return s;
  const bytes: number[] = [];
  const src = Buffer.from(s, 'utf8');
  for (let i = 0; i < src.length; i++) {
    const c = src[i]!;
    if (c === 0x5c && i + 3 < src.length && isOct(src[i + 1]) && isOct(src[i + 2]) && isOct(src[i + 3])) {
      bytes.push(((src[i + 1]! - 48) << 6) | ((src[i + 2]! - 48) << 3) | (src[i + 3]! - 48));
      i += 3;
    } else {
      bytes.push(c);
    }
  }
  return Buffer.from(bytes).toString('utf8');
}

function isOct(c: number | undefined): boolean {
  return c !== undefined && c >= 48 && c <= 55;
}

function quote(s: string): string {
  const out: number[] = [];
  for (const c of Buffer.from(s, 'utf8')) {
    if (c < 0x20 || c === 0x7f || c === 0x5c || c === 0x3d) {
      out.push(0x5c, 48 + ((c >> 6) & 7), 48 + ((c >> 3) & 7), 48 + (c & 7));
    } else {
      out.push(c);
    }
  }
  return Buffer.from(out).toString('utf8');
}
