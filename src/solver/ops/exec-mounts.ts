/**
 * RUN --mount: turns the op's mount specs into OCI mounts for runc, preparing what each needs
 * (a filtered copy of the context, a mounted stage, a persistent cache dir, a secret file) and
 * releasing it all after the run.
 */
import { createHash, randomBytes } from 'node:crypto';
import { chmod, chown, copyFile, lstat, mkdir, readFile, realpath, rename, rm, writeFile } from 'node:fs/promises';
import { connect, createServer, type Socket } from 'node:net';
import { dirname, join } from 'node:path';
import { contextReadError, selectContext, type ContextSelection } from '../../cache/context-source.js';
import { secretsDir } from '../../cache/secrets-dir.js';
import { UserError } from '../../errors.js';
import type { OciMount } from '../../executor/runtime-spec.js';
import { copyIntoRoot } from '../../snapshot/copy-files.js';
import { processIdMapping } from '../../snapshot/id-mapping.js';
import { resolveInRoot } from '../../store/resolve-in-root.js';
import type { BindMount, CacheMount, ExecOp, SecretMount } from '../graph.js';
import { contextDirOf, type OpRun, type SolveContext } from './op-context.js';
import { acquireRootfs } from '../../snapshot/mount-chain.js';
import { runTool } from '../../process/run-tool.js';

/** Context bind mounts select their source like COPY does (after .dockerignore): keyed on content. */
export async function selectBindSources(op: ExecOp, ctx: SolveContext): Promise<Map<number, ContextSelection>> {
  const out = new Map<number, ContextSelection>();
  for (const [i, m] of (op.mounts ?? []).entries()) {
    if (m.type !== 'bind' || m.input !== undefined) continue;
    const from = contextDirOf(ctx, m.context);
    out.set(
      i,
      await selectContext(from.dir, [m.source], {
        isIgnored: from.ignore.isIgnored,
        ...(from.ignore.canSkipDir ? { canSkipDir: from.ignore.canSkipDir } : {}),
        ...(from.hashFile ? { hashFile: from.hashFile } : {}),
      }).catch((err: unknown) => {
        throw contextReadError(err);
      }),
    );
  }
  return out;
}

export interface PreparedMounts {
  mounts: OciMount[];
  env: string[];
  release(): Promise<void>;
}

export async function prepareMounts(
  op: ExecOp,
  run: OpRun,
  bindSelections: Map<number, ContextSelection>,
): Promise<PreparedMounts> {
  const { ctx } = run;
  const releases: (() => Promise<void> | void)[] = [];
  const mounts: OciMount[] = [];
  const env: string[] = [];
  const release = async (): Promise<void> => {
    for (const r of releases.reverse()) await r();
  };
  try {
    for (const [i, m] of (op.mounts ?? []).entries()) {
      switch (m.type) {
        case 'bind':
          mounts.push(await bindMount(m, run, bindSelections.get(i), releases));
          break;
        case 'cache':
          mounts.push(await cacheMount(m, run, releases));
          break;
        case 'tmpfs':
          mounts.push({
            destination: m.target,
            type: 'tmpfs',
            source: 'tmpfs',
            options: ['nosuid', 'nodev', 'mode=1777', ...(m.size ? [`size=${m.size}`] : [])],
          });
          break;
        case 'secret': {
          const secret = await secretMount(m, ctx, releases);
          if (!secret) break;
          if (m.env !== undefined) env.push(`${m.env}=${secret.value.toString('utf8')}`);
          if (secret.mount) mounts.push(secret.mount);
          break;
        }
        default: {
          const mount = await sshMount(m, ctx, releases);
          if (!mount) break;
          mounts.push(mount);
          if (m.type === 'ssh' && !env.some((e) => e.startsWith('SSH_AUTH_SOCK=')))
            env.push(`SSH_AUTH_SOCK=${m.target}`);
        }
      }
    }
  } catch (err) {
    await release();
    throw err;
  }
  return { mounts, env, release };
}

async function bindMount(
  m: BindMount,
  run: OpRun,
  selection: ContextSelection | undefined,
  releases: (() => Promise<void> | void)[],
): Promise<OciMount> {
  const options = ['rbind', m.readonly ? 'ro' : 'rw'];
  if (m.input !== undefined) {
    const rootfs = await acquireRootfs(run.ctx, run.inputs[m.input]!.layers, !m.readonly);
    releases.push(() => rootfs.release());
    const source = await resolveInRoot(rootfs.path, m.source);
    try {
      await lstat(source);
    } catch {
      throw new UserError(`RUN --mount: "${m.source}" does not exist in the mounted stage`);
    }
    return { destination: m.target, type: 'bind', source, options };
  }
  // Only what .dockerignore lets through is visible, so the context is copied, not bound raw.
  const dir = join(run.ctx.paths.tmp, `bind-${randomBytes(6).toString('hex')}`);
  await mkdir(dir, { recursive: true });
  releases.push(() => rm(dir, { recursive: true, force: true }));
  const match = selection!.sources[0]!.matches[0]!;
  if (match.root.type === 'dir') {
    await copyIntoRoot({
      destRoot: dir,
      dest: '/',
      sources: [{ srcRoot: contextDirOf(run.ctx, m.context).dir, matches: [match] }],
      inline: [],
      preserveOwner: false,
    });
    return { destination: m.target, type: 'bind', source: dir, options };
  }
  const file = join(dir, match.name);
  await copyFile(join(contextDirOf(run.ctx, m.context).dir, match.root.rel), file);
  await chmod(file, match.root.mode);
  return { destination: m.target, type: 'bind', source: file, options };
}

async function cacheMount(m: CacheMount, run: OpRun, releases: (() => Promise<void> | void)[]): Promise<OciMount> {
  const { ctx } = run;
  // A cache seeded from a stage is its own cache per seed, as BuildKit keys it `id:ref`.
  const seed = m.input !== undefined ? run.inputs[m.input]!.layers : undefined;
  const identity = seed ? `${m.id}:${seed.join(',')}` : m.id;
  const key = createHash('sha256').update(identity).digest('hex').slice(0, 32);
  const root = ctx.paths.cacheMounts;
  let dir = join(root, key);
  if (m.sharing === 'locked') releases.push(await run.cacheMounts.lock(key));
  // --no-cache empties the cache mounts the build uses (BuildKit: moby/buildkit#2447), once per build
  if (run.noCache && run.cacheMounts.firstEmptying(key)) await rm(dir, { recursive: true, force: true });
  if (m.sharing === 'private') {
    const taken = run.cacheMounts.takePrivate(key);
    if (taken) releases.push(taken);
    else {
      // Another RUN holds it: this one gets a fresh, throwaway directory, as BuildKit does.
      dir = join(ctx.paths.tmp, `cache-${key}-${randomBytes(4).toString('hex')}`);
      const d = dir;
      releases.push(() => rm(d, { recursive: true, force: true }));
    }
  }
  let created = false;
  try {
    await lstat(dir);
  } catch {
    if (seed?.length) await seedCache(run, seed, dir);
    else await mkdir(dir, { recursive: true });
    created = true;
  }
  if (created && !seed?.length) {
    await chmod(dir, m.mode);
    await chownAsImage(dir, m.uid, m.gid);
  }
  const source = m.source ? await cacheSubdir(dir, m.source) : dir;
  return { destination: m.target, type: 'bind', source, options: ['rbind', m.readonly ? 'ro' : 'rw'] };
}

/** A new cache that starts as a copy of the `from=` stage's filesystem, put in place whole. */
async function seedCache(run: OpRun, layers: string[], dir: string): Promise<void> {
  const rootfs = await acquireRootfs(run.ctx, layers, false);
  const tmp = join(run.ctx.paths.tmp, `cache-seed-${randomBytes(6).toString('hex')}`);
  try {
    await mkdir(tmp);
    const r = await runTool('cp', ['-a', '--', `${rootfs.path}/.`, tmp]);
    if (r.code !== 0) throw new Error(`cp of the cache's from= stage failed: ${r.stderr.trim()}`);
    await mkdir(dirname(dir), { recursive: true });
    await rename(tmp, dir).catch(async (err: NodeJS.ErrnoException) => {
      // another build made it first: theirs is as good
      if (err.code !== 'ENOTEMPTY' && err.code !== 'EEXIST') throw err;
      await rm(tmp, { recursive: true, force: true });
    });
  } catch (err) {
    await rm(tmp, { recursive: true, force: true });
    throw err;
  } finally {
    await rootfs.release();
  }
}

/**
 * `source=` inside a cache: the cache's content is written by earlier RUN steps, so a symlink on
 * the way may point anywhere on the host. It is refused unless its real path stays inside the
 * cache (BuildKit's check, and its words); a missing directory is made, inside the cache.
 */
async function cacheSubdir(dir: string, source: string): Promise<string> {
  const root = await realpath(dir);
  let real: string;
  try {
    real = await realpath(join(dir, source));
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
    await mkdir(await resolveInRoot(dir, source), { recursive: true });
    real = await realpath(join(dir, source));
  }
  if (real !== root && !real.startsWith(`${root}/`)) {
    throw new UserError(
      `mount source subpath "${source.replace(/^\//, '')}" resolves to "${real}" which escapes the mount root`,
      { hint: 'a symlink in the cache points outside it; remove it (or use another cache id)' },
    );
  }
  return real;
}

/** A secret's value, and its file mount unless it is given only as an environment variable. */
async function secretMount(
  m: SecretMount,
  ctx: SolveContext,
  releases: (() => Promise<void> | void)[],
): Promise<{ value: Buffer; mount?: OciMount } | undefined> {
  const src = ctx.secrets?.get(m.id);
  if (!src) {
    if (m.required)
      throw new UserError(`secret ${m.id}: not found`, {
        hint: `pass --secret id=${m.id},src=FILE (or env=VAR)`,
      });
    return undefined;
  }
  let value: Buffer;
  if (src.file !== undefined) {
    try {
      value = await readFile(src.file);
    } catch (err) {
      throw new UserError(`secret "${m.id}": cannot read ${src.file}: ${(err as Error).message}`);
    }
  } else value = Buffer.from(process.env[src.env ?? m.id] ?? '', 'utf8');
  if (!m.target) return { value };
  // A private directory on a memory-backed filesystem (secrets-dir.ts), removed after the run:
  // the value never enters a layer, key or record, nor a disk.
  const dir = join((await secretsDir(ctx.paths)).dir, `secret-${randomBytes(8).toString('hex')}`);
  await mkdir(dir, { mode: 0o700 });
  releases.push(() => rm(dir, { recursive: true, force: true }));
  const file = join(dir, 'value');
  await writeFile(file, value, { mode: 0o600 });
  await chownAsImage(file, m.uid, m.gid);
  await chmod(file, m.mode);
  return { value, mount: { destination: m.target, type: 'bind', source: file, options: ['rbind', 'ro'] } };
}

/**
 * The agent is reached through a socket of our own that relays to the forwarded one, as BuildKit
 * does: it gets the mount's mode, uid and gid without touching the user's socket.
 */
async function sshMount(
  m: SecretMount,
  ctx: SolveContext,
  releases: (() => Promise<void> | void)[],
): Promise<OciMount | undefined> {
  const socket = ctx.ssh?.get(m.id);
  if (!socket) {
    if (m.required)
      throw new UserError(`no SSH key "${m.id}" forwarded from the client`, {
        hint: `pass --ssh ${m.id} (uses $SSH_AUTH_SOCK) or --ssh ${m.id}=/path/to/agent.sock`,
      });
    return undefined;
  }
  const dir = join((await secretsDir(ctx.paths)).dir, `ssh-${randomBytes(8).toString('hex')}`);
  await mkdir(dir, { mode: 0o700 });
  const path = join(dir, 'agent.sock');
  const open = new Set<Socket>();
  const server = createServer((conn) => {
    const agent = connect(socket);
    open.add(conn).add(agent);
    conn.pipe(agent).pipe(conn);
    conn.on('error', () => agent.destroy());
    agent.on('error', () => conn.destroy());
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(path, () => resolve());
  });
  releases.push(async () => {
    const closed = new Promise<void>((resolve) => server.close(() => resolve()));
    for (const s of open) s.destroy();
    await closed;
    await rm(dir, { recursive: true, force: true });
  });
  await chownAsImage(path, m.uid, m.gid);
  await chmod(path, m.mode);
  return { destination: m.target, type: 'bind', source: path, options: ['rbind'] };
}

/**
 * A mount's uid/gid option on the host: as given for root, the user's own ids for a user who may
 * not chown (isolation chroot as non-root, where proot shows the step its files as its own).
 */
function chownAsImage(path: string, uid: number, gid: number): Promise<void> {
  const ids = processIdMapping();
  return chown(path, ids.uid(uid), ids.gid(gid));
}
