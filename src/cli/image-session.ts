import { existsSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { UserError } from '../errors.js';
import type { ImageStore } from '../exporter/image-store.js';
import type { StatePaths } from '../store/state-paths.js';
import type { Formatter } from './image-display.js';
import { table, templateFormatter } from './image-display.js';

/** The state directory's image store; `undefined` when there is no state directory yet (no images). */
export async function openImages(): Promise<{ paths: StatePaths; images: ImageStore | undefined }> {
  const [{ defaultStateRoot, StatePaths }, { ContentStore }, { ImageStore }] = await Promise.all([
    import('../store/state-paths.js'),
    import('../store/content-store.js'),
    import('../exporter/image-store.js'),
  ]);
  const paths = new StatePaths(defaultStateRoot());
  return { paths, images: existsSync(paths.content) ? new ImageStore(new ContentStore(paths.content)) : undefined };
}

/**
 * Runs `fn` holding a build's shared lease on the state dir: commands that add to the store or
 * change index.json (tag, rmi, load) or read many blobs (save) keep `tsbuild prune` out meanwhile,
 * as a build does; the index itself is changed under the content store's own mutex.
 */
export async function withStateLease<T>(paths: StatePaths, fn: () => Promise<T>): Promise<T> {
  const [{ StateLock }, { stateDirError }] = await Promise.all([
    import('../store/state-lock.js'),
    import('../cache/state-session.js'),
  ]);
  const release = await (async () => {
    await mkdir(paths.root, { recursive: true });
    return new StateLock(paths.root).acquireShared((m) => process.stderr.write(`${m}...\n`));
  })().catch((err: unknown) => {
    throw stateDirError(err, paths.root);
  });
  try {
    return await fn();
  } finally {
    await release();
  }
}

/** The image store, or "No such image" for a name when there is none yet. */
export function requireImages(images: ImageStore | undefined, ref: string): ImageStore {
  if (!images) throw new UserError(`No such image: ${ref}`, { hint: 'the state directory holds no images yet' });
  return images;
}

/** Prints rows as docker's `--format` asks: the default table, `json` lines, or a template. */
export function printRows(
  rows: Record<string, unknown>[],
  format: string | undefined,
  columns: { header: string; field: string }[],
): void {
  const kind = templateFormatter(format ?? 'table', '--format');
  let out: string;
  if (kind === 'json') out = rows.map((r) => `${JSON.stringify(r)}\n`).join('');
  else if (kind === 'table')
    out = table([columns.map((c) => c.header), ...rows.map((r) => columns.map((c) => String(r[c.field] ?? '')))]);
  else out = renderTemplate(rows, kind.render, kind.header, columns);
  process.stdout.write(out);
}

function renderTemplate(
  rows: Record<string, unknown>[],
  render: Formatter,
  header: string[] | undefined,
  columns: { header: string; field: string }[],
): string {
  const lines = rows.map(render);
  if (!header) return lines.map((l) => `${l}\n`).join('');
  const named = header.map((h) => columns.find((c) => c.field.toUpperCase() === h)?.header ?? h);
  return table([named, ...lines.map((l) => l.split('\t'))]);
}
