/**
 * COPY and ADD. Sources are looked at twice: while the cache key is made (copy-sources.ts:
 * context files are selected and hashed; a URL is downloaded, or only its --checksum taken; a
 * git ref is resolved to its commit) and when the step runs, here (the same selections are
 * copied; the git commit is checked out). A --link step writes its layer into an empty
 * directory, named after what it copies and not after the layers below, so a rebuild over a
 * changed base reuses it as it is.
 */
import { createHash, randomBytes } from 'node:crypto';
import { rm } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { PassThrough } from 'node:stream';
import { selectContext, type SelectedMatch } from '../../cache/context-source.js';
import { resolveUser } from '../../executor/user.js';
import { MediaType } from '../../image/types.js';
import { copyIntoRoot, type CopySource, type Owner } from '../../snapshot/copy-files.js';
import { copyUpForNewPath } from '../../snapshot/copy-up.js';
import { parseModeChange, type ModeChange } from '../../snapshot/file-mode.js';
import { writeLayerTar } from '../../snapshot/layer-tar.js';
import { linkedSnapshotId } from '../../snapshot/snapshot-id.js';
import { checkoutGit } from '../../sources/git-checkout.js';
import { redactUrl, type Downloaded } from '../../sources/http-download.js';
import { canonicalJson } from '../cache-key.js';
import type { CopyOp, UrlSource, Vertex } from '../graph.js';
import { contextDirOf, type OpRun, type VertexResult } from './op-context.js';
import { downloads, keyGit, keyUrl, selectOptions, type Remote } from './copy-sources.js';
import { withRootfs } from '../../snapshot/mount-chain.js';
import { soleLayerOf } from '../../snapshot/lower-lookup.js';

/** A copy's run gets what its key learnt of its URL and git sources, by source index. */
type CopyRun = OpRun<Map<number, Remote>>;

interface Fetched {
  sources: Map<number, CopySource>;
  cleanup(): Promise<void>;
}

/** The file a URL source copies: mode 0600 and Last-Modified as its mtime (epoch when none), as BuildKit. */
function urlSource(src: UrlSource, file: Downloaded): CopySource {
  const match: SelectedMatch = {
    name: src.filename,
    root: {
      rel: basename(file.path),
      type: 'file',
      mode: 0o600,
      uid: 0,
      gid: 0,
      size: 0,
      dev: 0,
      ino: 0,
      nlink: 1,
      mtimeMs: file.lastModified ?? 0,
    },
    children: [],
  };
  return { srcRoot: dirname(file.path), matches: [match], unpack: src.unpack };
}

/** Downloads and checks out what the step copies from outside the build, before anything is mounted. */
async function fetchRemotes(op: CopyOp, run: CopyRun): Promise<Fetched> {
  const { ctx } = run;
  const sources = new Map<number, CopySource>();
  const dirs: string[] = [];
  const cleanup = async () => {
    for (const d of dirs) await rm(d, { recursive: true, force: true });
  };
  try {
    for (const [i, s] of op.sources.entries()) {
      if (s.kind !== 'url' && s.kind !== 'git') continue;
      const remote = run.learned?.get(i) ?? (s.kind === 'url' ? await keyUrl(s, ctx) : await keyGit(s, ctx)).remote;
      if (s.kind === 'url') {
        const file =
          remote.kind === 'url' && remote.file
            ? remote.file
            : await downloads(ctx).fetch(s.url, {
                ...(s.checksum ? { checksum: s.checksum } : {}),
                signal: ctx.signal,
              });
        sources.set(i, urlSource(s, file));
      } else if (remote.kind === 'git') {
        const dir = join(ctx.paths.tmp, `git-${randomBytes(6).toString('hex')}`);
        dirs.push(dir);
        await checkoutGit(s.remote, remote.git, dir, {
          keepGitDir: s.keepGitDir,
          ...(s.submodules === false ? { submodules: false } : {}),
          signal: ctx.signal,
        });
        const sel = await selectContext(dir, [s.subdir ?? '.'], {
          isIgnored: () => false,
          hashFile: async () => '',
          where: `repository ${redactUrl(s.remote)} at ${remote.git.commit.slice(0, 12)}`,
        });
        sources.set(i, { srcRoot: dir, matches: sel.sources.flatMap((x) => x.matches) });
      }
    }
  } catch (err) {
    await cleanup();
    throw err;
  }
  return { sources, cleanup };
}

/** Copies every source of `op` into `destRoot`, mounting the stages it copies from meanwhile. */
async function copyAll(
  vertex: Vertex,
  op: CopyOp,
  run: CopyRun,
  fetched: Fetched,
  destRoot: string,
  owner: Owner | undefined,
  chmod: number | ModeChange | undefined,
): Promise<void> {
  const { ctx } = run;
  const slots: (CopySource | undefined)[] = [];
  const mounts: { slot: number; layers: string[]; paths: string[]; where: string }[] = [];
  for (const [i, s] of op.sources.entries()) {
    if (s.kind === 'context') {
      slots.push({
        srcRoot: contextDirOf(ctx, s.context).dir,
        matches: run.selections.get(i)!.sources.flatMap((x) => x.matches),
        unpack: !!op.unpackArchives,
      });
    } else if (s.kind === 'vertex') {
      const from = vertex.inputs[s.input];
      const where =
        from?.op.type === 'image' ? `image ${from.op.ref}` : `stage ${JSON.stringify(from?.stage ?? String(s.input))}`;
      mounts.push({ slot: slots.length, layers: run.inputs[s.input]!.layers, paths: s.paths, where });
      slots.push(undefined);
    } else if (s.kind === 'url' || s.kind === 'git') slots.push(fetched.sources.get(i));
  }
  const inline = op.sources.flatMap((s) => (s.kind === 'inline' ? [{ name: s.name, content: s.content }] : []));
  const copy = async (k: number): Promise<void> => {
    if (k < mounts.length) {
      const m = mounts[k]!;
      const select = async (srcRoot: string): Promise<void> => {
        const sel = await selectContext(srcRoot, m.paths, {
          isIgnored: () => false,
          hashFile: async () => '',
          where: m.where,
          ...selectOptions(op),
        });
        slots[m.slot] = { srcRoot, matches: sel.sources.flatMap((x) => x.matches) };
        await copy(k + 1);
      };
      // Sources that one layer holds whole (a stage's /out made by one RUN) are read there: a
      // mount of the stage and its unmount cost ~5 ms a COPY --from (mount-chain.ts)
      const sole = await soleLayerOf(ctx.snapshots.lowerDirs(m.layers), m.paths);
      if (sole) await select(sole);
      else await withRootfs(ctx, m.layers, undefined, select);
      return;
    }
    await copyIntoRoot({
      destRoot,
      dest: op.dest,
      sources: slots.filter((s): s is CopySource => s !== undefined),
      inline,
      preserveOwner: op.preserveOwner,
      instruction: op.unpackArchives === undefined ? 'COPY' : 'ADD',
      ...(owner ? { owner } : {}),
      ...(chmod !== undefined ? { chmod } : {}),
      ...(ctx.idMapping ? { idMapping: ctx.idMapping } : {}),
    });
  };
  await copy(0);
}

function chmodOf(op: CopyOp): number | ModeChange | undefined {
  return op.chmodSymbolic !== undefined ? parseModeChange(op.chmodSymbolic) : op.chmod;
}

async function chownOf(op: CopyOp, root: string): Promise<Owner | undefined> {
  if (!op.chown) return undefined;
  const u = await resolveUser(
    root,
    op.chown,
    `${op.unpackArchives === undefined ? 'COPY' : 'ADD'} --chown=${op.chown}`,
    false,
  );
  return { uid: u.uid, gid: u.gid };
}

export async function runCopy(vertex: Vertex, op: CopyOp, run: CopyRun): Promise<VertexResult> {
  const { ctx } = run;
  const parent = run.inputs[0]!.layers;
  const fetched = await fetchRemotes(op, run);
  try {
    if (op.link) return { layers: [...parent, await linkedLayer(vertex, op, run, fetched)] };
    await ctx.snapshots.create(run.snapshotId, async (pending) => {
      // Into a path nothing below has, the copy goes straight into the upper dir (copy-up.ts);
      // --chown names are looked up in the mounted rootfs.
      if (!op.chown && (await copyUpForNewPath(ctx.snapshots.lowerDirs(parent), pending.fs, op.dest))) {
        await copyAll(vertex, op, run, fetched, pending.fs, undefined, chmodOf(op));
      } else {
        await withRootfs(ctx, parent, pending, async (destRoot) => {
          await copyAll(vertex, op, run, fetched, destRoot, await chownOf(op, destRoot), chmodOf(op));
        });
      }
    });
    return { layers: [...parent, run.snapshotId] };
  } finally {
    await fetched.cleanup();
  }
}

/**
 * --link: the copy lands in an empty directory, never looking at the destination below (so a
 * destination without a trailing slash names a file, even where the base has a directory, as
 * in BuildKit). The layer is named after the op, the selected content, the source stages'
 * layers and the --chown ids (resolved in the base image, the one thing read from below), and
 * its tar is made now, from the layer alone, so it is the same blob over any base.
 */
async function linkedLayer(vertex: Vertex, op: CopyOp, run: CopyRun, fetched: Fetched): Promise<string> {
  const { ctx } = run;
  const owner = op.chown
    ? await withRootfs(ctx, run.inputs[0]!.layers, undefined, (root) => chownOf(op, root))
    : undefined;
  const key = createHash('sha256')
    .update('tsbuild-link-v1\n')
    .update(
      canonicalJson({
        op,
        owner,
        content: [...run.selections].map(([i, s]) => [i, s.digest]),
        from: run.inputs.slice(1).map((r) => r.layers),
      }),
    )
    .digest('hex');
  const id = linkedSnapshotId(key);
  if (await ctx.snapshots.exists(id)) return id;
  await ctx.snapshots.create(id, async (pending) => {
    await copyAll(vertex, op, run, fetched, pending.fs, owner, chmodOf(op));
    // The plain tar is recorded as the layer's blob: every other encoding is made from it, so
    // nothing ever re-tars this layer against the chain it happens to sit on.
    const tar = new PassThrough({ highWaterMark: 1 << 20 });
    const writing = writeLayerTar(pending.fs, tar).catch((err: Error) => {
      tar.destroy(err);
      throw err;
    });
    const [stored] = await Promise.all([ctx.store.ingest(tar, undefined, 'layer tar', { durable: false }), writing]);
    return {
      digest: stored.digest,
      diffId: stored.digest,
      size: stored.size,
      mediaType: MediaType.ociLayerTar,
    };
  });
  return id;
}
