/**
 * ADD's extraction of a local archive into a directory of the rootfs, with docker's Untar rules
 * (BuildKit calls chrootarchive.Untar): the destination directory acts as the root — absolute
 * names and symlinks already there resolve inside it, and an entry or hard link that climbs out
 * with `..` fails the build; a symlink may point anywhere (it resolves inside the rootfs). Owners, modes, times and xattrs come from the archive
 * (every owner is the --chown user when one is given); an existing entry is replaced unless
 * both it and the archive's are directories, which merge. `.wh.` files are ordinary files here:
 * an archive is not a layer.
 */
import { chmod, lchown, link, lstat, lutimes, mkdir, open, rm, symlink, utimes } from 'node:fs/promises';
import { constants } from 'node:fs';
import { posix } from 'node:path';
import tarStream from 'tar-stream';
import { UserError } from '../errors.js';
import { PaxTap } from '../image/pax-tap.js';
import { openArchive } from './archive-stream.js';
import { isPortableXattr } from './overlay-format.js';
import { type IdMapping, OWNER_XATTR, ownerXattrValue, processIdMapping } from './id-mapping.js';
import { resolveInRoot } from '../store/resolve-in-root.js';
import { runToolChecked } from '../process/run-tool.js';
import { writeXattrs, type XattrWrite } from './xattrs.js';

export interface ExtractOptions {
  /** --chown: every extracted entry gets this owner instead of the archive's. */
  owner?: { uid: number; gid: number };
  /** For messages: the archive as the user named it. */
  label: string;
  /** For messages: what extracts it (default `ADD`; a build context's archive says so). */
  what?: string;
  /** Host owners of the image's ids (default identity). */
  idMapping?: IdMapping;
}

interface Meta {
  mode: number;
  uid: number;
  gid: number;
  mtime: Date;
}

/** How messages name the archive: `ADD <label>`. */
function named(opts: ExtractOptions): string {
  return `${opts.what ?? 'ADD'} ${opts.label}`;
}

function breakout(opts: ExtractOptions, what: string): UserError {
  return new UserError(`${named(opts)}: ${what}`, {
    hint: 'the archive tries to write outside the destination directory; it is refused, as docker refuses it',
  });
}

/** An entry name as a path relative to the destination, or undefined for the destination itself. */
function entryPath(opts: ExtractOptions, name: string): string | undefined {
  const clean = posix.normalize(name.replace(/^\/+/, ''));
  if (clean === '..' || clean.startsWith('../'))
    throw breakout(opts, `${JSON.stringify(name)} is outside of the destination`);
  const rel = clean.replace(/\/+$/, '');
  return rel === '' || rel === '.' ? undefined : rel;
}

async function lstatOrUndefined(path: string) {
  return lstat(path).catch(() => undefined);
}

/** Extracts the archive at `archivePath` (any compression ADD accepts) into `destDir`, an existing directory. */
export async function extractArchive(archivePath: string, destDir: string, opts: ExtractOptions): Promise<void> {
  const tar = await openArchive(archivePath);
  const extract = tarStream.extract();
  const tap = new PaxTap();
  tar.on('error', (err: Error) => extract.destroy(err));
  tap.on('error', (err: Error) => extract.destroy(err));
  tar.pipe(tap).pipe(extract);
  const dirs: { path: string; mtime: Date }[] = [];
  const xattrs: XattrWrite[] = [];
  try {
    for await (const entry of extract) {
      try {
        await extractEntry(entry, tap.shift(), destDir, opts, dirs, xattrs);
      } finally {
        entry.resume();
      }
    }
  } catch (err) {
    extract.destroy();
    tar.destroy();
    if (err instanceof UserError) throw err;
    throw new UserError(`${named(opts)}: cannot extract: ${err instanceof Error ? err.message : String(err)}`, {
      hint:
        opts.what === undefined
          ? 'the archive looks damaged; ADD --unpack=false copies it without extracting'
          : 'the archive looks damaged or cut short; make it again (tar -czf ctx.tar.gz -C DIR .)',
    });
  }
  // Best effort, as docker: a filesystem without xattr support must not fail the build.
  await writeXattrs(xattrs).catch(() => {});
  // Directory times last, deepest first: creating their children changed them.
  for (const d of dirs.reverse()) await utimes(d.path, d.mtime, d.mtime);
}

async function extractEntry(
  entry: tarStream.Entry,
  rawPax: Map<string, Buffer> | undefined,
  destDir: string,
  opts: ExtractOptions,
  dirs: { path: string; mtime: Date }[],
  xattrs: XattrWrite[],
): Promise<void> {
  const h = entry.header;
  if (
    h.type === 'pax-global-header' ||
    h.type === 'pax-header' ||
    h.type === 'gnu-long-path' ||
    h.type === 'gnu-long-link-path'
  )
    return;
  const rel = entryPath(opts, h.name);
  if (rel === undefined) return; // the archive's "./": the destination itself keeps its metadata
  const pax = ((h as { pax?: Record<string, string> }).pax ?? {}) as Record<string, string>;
  const ids = opts.idMapping ?? processIdMapping();
  const imageUid = opts.owner?.uid ?? paxInt(pax.uid) ?? h.uid ?? 0;
  const imageGid = opts.owner?.gid ?? paxInt(pax.gid) ?? h.gid ?? 0;
  const meta: Meta = {
    mode: (h.mode ?? 0) & 0o7777,
    uid: ids.uid(imageUid),
    gid: ids.gid(imageGid),
    mtime:
      pax.mtime !== undefined && Number.isFinite(Number(pax.mtime))
        ? new Date(Number(pax.mtime) * 1000)
        : (h.mtime ?? new Date(0)),
  };
  const parent = posix.dirname(rel) === '.' ? '' : posix.dirname(rel);
  // Missing parents are made 0755 root-owned, as docker's MkdirAllAndChownNew does.
  const parentHost = await resolveInRoot(destDir, '/' + parent, true);
  if (!(await lstatOrUndefined(parentHost))) await mkdirAll(destDir, parent, ids);
  const host = await resolveInRoot(destDir, '/' + rel, false);
  const existing = await lstatOrUndefined(host);
  if (existing && !(existing.isDirectory() && h.type === 'directory')) await rm(host, { recursive: true, force: true });

  switch (h.type) {
    case 'directory':
      if (!existing?.isDirectory()) await mkdir(host, { mode: 0o700 });
      await lchown(host, meta.uid, meta.gid);
      await chmod(host, meta.mode);
      dirs.push({ path: host, mtime: meta.mtime });
      break;
    case 'file':
    case 'contiguous-file':
    case undefined:
    case null: {
      const fh = await open(
        host,
        constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW,
        0o600,
      );
      try {
        for await (const chunk of entry) await fh.write(chunk as Buffer);
        await fh.chown(meta.uid, meta.gid); // before chmod: chown clears setuid/setgid
        await fh.chmod(meta.mode);
        await fh.utimes(meta.mtime, meta.mtime);
      } finally {
        await fh.close();
      }
      break;
    }
    case 'symlink': {
      // Any target is kept, `..` out of the destination too: BuildKit extracts in a chroot of the
      // destination, where such a link is allowed and resolves inside the rootfs; every path this
      // extraction and later copies follow is resolved inside the root (resolveInRoot).
      const target = h.linkname ?? '';
      await symlink(target, host);
      await lchown(host, meta.uid, meta.gid);
      await lutimes(host, meta.mtime, meta.mtime);
      break;
    }
    case 'link': {
      const targetRel = entryPath(opts, h.linkname ?? '');
      if (targetRel === undefined)
        throw breakout(opts, `invalid hard link ${JSON.stringify(h.name)} -> ${JSON.stringify(h.linkname)}`);
      const targetHost = await resolveInRoot(destDir, '/' + targetRel, false);
      try {
        await link(targetHost, host);
      } catch {
        throw new UserError(
          `${named(opts)}: ${JSON.stringify(h.name)} is a hard link to ${JSON.stringify(h.linkname)}, which the archive does not hold before it`,
        );
      }
      return; // a hard link shares its target's metadata
    }
    case 'character-device':
    case 'block-device':
    case 'fifo': {
      if (h.type !== 'fifo' && ids.recordsOwners)
        throw new UserError(
          `${named(opts)}: ${JSON.stringify(h.name)} is a device node, which a user other than root cannot make`,
          {
            hint: 'run tsbuild as root, or leave the device out of the archive',
          },
        );
      const kind =
        h.type === 'fifo'
          ? ['p']
          : [h.type === 'block-device' ? 'b' : 'c', String(h.devmajor ?? 0), String(h.devminor ?? 0)];
      await runToolChecked('mknod', ['-m', meta.mode.toString(8), '--', host, ...kind]);
      await lchown(host, meta.uid, meta.gid);
      await chmod(host, meta.mode);
      await utimes(host, meta.mtime, meta.mtime);
      break;
    }
    default:
      throw new UserError(
        `${named(opts)}: unhandled tar entry type ${JSON.stringify(h.type)} for ${JSON.stringify(h.name)}`,
      );
  }
  for (const [k, v] of rawPax ?? []) {
    if (!k.startsWith('SCHILY.xattr.')) continue;
    const name = k.slice('SCHILY.xattr.'.length);
    if (isPortableXattr(name) && name !== OWNER_XATTR) xattrs.push({ path: host, name, value: v });
  }
  // root's too: an entry the archive names twice (or a dir merged) may have another's record
  const owner = h.type === 'symlink' ? undefined : ownerXattrValue(ids, imageUid, imageGid, true);
  if (owner) xattrs.push({ path: host, name: OWNER_XATTR, value: owner });
}

/** mkdir -p inside the destination root; created directories get 0755 and 0:0 (through `ids`). */
async function mkdirAll(root: string, rel: string, ids: IdMapping): Promise<void> {
  let current = '';
  for (const part of rel.split('/')) {
    current = current ? `${current}/${part}` : part;
    const host = await resolveInRoot(root, '/' + current, true);
    const st = await lstatOrUndefined(host);
    if (st?.isDirectory()) continue;
    if (st) throw new UserError(`cannot extract into ${current}: it exists and is not a directory`);
    // recursive: a symlink on the way may lead to directories that do not exist yet (all inside the root)
    await mkdir(host, { mode: 0o755, recursive: true });
    await chmod(host, 0o755);
    await lchown(host, ids.uid(0), ids.gid(0));
  }
}

function paxInt(v: string | undefined): number | undefined {
  return v !== undefined && /^\d+$/.test(v) ? Number(v) : undefined;
}
