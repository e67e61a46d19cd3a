/**
 * RUN --mount: turns the op's mount specs into OCI mounts for runc, preparing what each needs
 * (a filtered copy of the context, a mounted stage, a persistent cache dir, a secret file) and
 * releasing it all after the run.
 */
import { createHash, randomBytes } from 'node:crypto';
import { chmod, chown, copyFile, lstat, mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { contextReadError, selectContext, type ContextSelection } from '../../cache/context-source.js';
import { secretsDir } from '../../cache/secrets-dir.js';
import { UserError } from '../../errors.js';
import type { OciMount } from '../../executor/runtime-spec.js';
import { copyIntoRoot } from '../../snapshot/copy-files.js';
import { resolveInRoot } from '../../store/resolve-in-root.js';
import type { BindMount, CacheMount, ExecOp, SecretMount } from '../graph.js';
import { contextDirOf, type OpRun, type SolveContext } from './op-context.js';
import { acquireRootfs } from '../../snapshot/mount-chain.js';

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
        default: {
          const mount = m.type === 'secret' ? await secretMount(m, ctx, releases) : sshMount(m, ctx);
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
  const key = createHash('sha256').update(m.id).digest('hex').slice(0, 32);
  const root = ctx.paths.cacheMounts;
  let dir = join(root, key);
  if (m.sharing === 'locked') releases.push(await run.cacheMounts.lock(key));
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
    await mkdir(dir, { recursive: true });
    created = true;
  }
  if (created) {
    await chmod(dir, m.mode);
    await chown(dir, m.uid, m.gid);
  }
  return { destination: m.target, type: 'bind', source: dir, options: ['rbind', m.readonly ? 'ro' : 'rw'] };
}

async function secretMount(
  m: SecretMount,
  ctx: SolveContext,
  releases: (() => Promise<void> | void)[],
): Promise<OciMount | undefined> {
  const src = ctx.secrets?.get(m.id);
  if (!src) {
    if (m.required)
      throw new UserError(`secret "${m.id}" is required but was not provided`, {
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
  // A private directory on a memory-backed filesystem (secrets-dir.ts), removed after the run:
  // the value never enters a layer, key or record, nor a disk.
  const dir = join((await secretsDir(ctx.paths)).dir, `secret-${randomBytes(8).toString('hex')}`);
  await mkdir(dir, { mode: 0o700 });
  releases.push(() => rm(dir, { recursive: true, force: true }));
  const file = join(dir, 'value');
  await writeFile(file, value, { mode: 0o600 });
  await chown(file, m.uid, m.gid);
  await chmod(file, m.mode);
  return { destination: m.target, type: 'bind', source: file, options: ['rbind', 'ro'] };
}

function sshMount(m: SecretMount, ctx: SolveContext): OciMount | undefined {
  const socket = ctx.ssh?.get(m.id);
  if (!socket) {
    if (m.required)
      throw new UserError(`ssh agent "${m.id}" is required but was not forwarded`, {
        hint: `pass --ssh ${m.id} (uses $SSH_AUTH_SOCK) or --ssh ${m.id}=/path/to/agent.sock`,
      });
    return undefined;
  }
  return { destination: m.target, type: 'bind', source: socket, options: ['rbind'] };
}
