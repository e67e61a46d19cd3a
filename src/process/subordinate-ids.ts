import { readFile } from 'node:fs/promises';

/** One range of /etc/subuid or /etc/subgid: `count` host ids from `start`, the user's to map. */
export interface SubordinateRange {
  start: number;
  count: number;
}

/**
 * The first range /etc/subuid (or /etc/subgid) grants the user, named by login name or by
 * number as shadow-utils' newuidmap accepts either; undefined when none is granted.
 */
export function parseSubordinateIds(text: string, user: string, id: number): SubordinateRange | undefined {
  for (const line of text.split('\n')) {
    const [owner, start, count] = line.trim().split(':');
    if (owner !== user && owner !== String(id)) continue;
    const s = Number(start);
    const c = Number(count);
    if (Number.isSafeInteger(s) && Number.isSafeInteger(c) && s > 0 && c > 0) return { start: s, count: c };
  }
  return undefined;
}

/** parseSubordinateIds of the file at `path`; a missing file grants nothing. */
export async function readSubordinateIds(
  path: string,
  user: string,
  id: number,
): Promise<SubordinateRange | undefined> {
  const text = await readFile(path, 'utf8').catch((err: NodeJS.ErrnoException) => {
    if (err.code === 'ENOENT' || err.code === 'EACCES') return '';
    throw err;
  });
  return parseSubordinateIds(text, user, id);
}
