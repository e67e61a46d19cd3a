import { mkdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { writeFileAtomic } from '../store/atomic-write.js';

/**
 * The file list behind a context selection digest: one line per selected entry, so a later
 * miss can name the files that changed. `cache/files/<digest hex>`, lines of
 * `path \t type \t mode \t uid:gid \t link target \t content hash`, written when a step that
 * selected them runs (a hit needs none: its list was written when it ran).
 */
export interface SelectedFile {
  path: string;
  /** Everything but the path, joined: equal when the entry is unchanged. */
  fingerprint: string;
}

/** `dir` is the state dir's StatePaths.selectionFiles. */
export function selectionFile(dir: string, digest: string): string {
  return join(dir, digest.replace(/^sha256:/, ''));
}

export function encodeSelection(files: SelectedFile[]): string {
  return files.map((f) => `${f.path.replace(/[\t\n]/g, ' ')}\t${f.fingerprint}\n`).join('');
}

export function decodeSelection(text: string): Map<string, string> {
  const out = new Map<string, string>();
  for (const line of text.split('\n')) {
    const tab = line.indexOf('\t');
    if (tab > 0) out.set(line.slice(0, tab), line.slice(tab + 1));
  }
  return out;
}

export async function writeSelection(dir: string, digest: string, files: SelectedFile[]): Promise<void> {
  const file = selectionFile(dir, digest);
  await mkdir(join(file, '..'), { recursive: true });
  await writeFileAtomic(file, encodeSelection(files), { sync: false });
}

export async function readSelection(dir: string, digest: string): Promise<Map<string, string> | undefined> {
  try {
    return decodeSelection(await readFile(selectionFile(dir, digest), 'utf8'));
  } catch {
    return undefined;
  }
}

export interface FileDiff {
  added: string[];
  removed: string[];
  changed: string[];
}

export function diffSelections(before: Map<string, string>, after: Map<string, string>): FileDiff {
  const added: string[] = [];
  const removed: string[] = [];
  const changed: string[] = [];
  for (const [p, f] of after) {
    const was = before.get(p);
    if (was === undefined) added.push(p);
    else if (was !== f) changed.push(p);
  }
  for (const p of before.keys()) if (!after.has(p)) removed.push(p);
  return { added, removed, changed };
}
