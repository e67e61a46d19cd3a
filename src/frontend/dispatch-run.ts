/** RUN: an exec op over the stage's rootfs, with the environment and user in effect. */
import { UserError } from '../errors.js';
import type { ExecOp, RunMount, Vertex } from '../solver/graph.js';
import { addHistory } from './dispatch-config.js';
import { newVertex, type FsDispatchContext } from './dispatch-common.js';
import type { RunInstruction } from './instruction-types.js';
import { PROXY_ARGS } from './platform.js';
import { defaultPlatform, formatPlatform, normalizePlatform, platformsEqual } from '../registry/platform.js';
import { parseRunMount } from './run-mounts.js';
import { DEFAULT_PATH, expansionScope, stageEnv, type StageState } from './stage-state.js';

/** The environment a RUN sees: the image ENV plus this stage's ARGs (ENV wins) and proxy args. */
export function runEnvironment(state: StageState): string[] {
  const env = stageEnv(state);
  const out = [...(state.config.Env ?? [])];
  if (!env.has('PATH')) out.unshift(`PATH=${DEFAULT_PATH}`);
  for (const [k, v] of state.args) {
    if (v !== undefined && !env.has(k)) out.push(`${k}=${v}`);
  }
  return out;
}

/**
 * Proxy build args, given to RUN in both cases (`http_proxy` also sets `HTTP_PROXY`), as BuildKit's
 * executor does (proxyEnvFromBuildArgs, proxyEnvList); kept out of the cache key and history.
 * A name the stage declares itself (ARG or ENV) keeps its own value.
 */
export function proxyEnvironment(state: StageState, buildArgs: Map<string, string>): string[] {
  const env = stageEnv(state);
  const values = new Map<string, string>();
  // sorted as BuildKit walks them: for the same name in both cases, the lower-case one wins
  for (const k of [...buildArgs.keys()].sort()) {
    const lower = k.toLowerCase();
    if (PROXY_ARGS.has(k) && PROXY_ARGS.has(lower)) values.set(lower, buildArgs.get(k)!);
  }
  const out: string[] = [];
  for (const [lower, v] of values) {
    for (const k of [lower.toUpperCase(), lower]) {
      if (!state.args.has(k) && !env.has(k)) out.push(`${k}=${v}`);
    }
  }
  return out;
}

/** BuildKit's history text for RUN: declared build args prefixed as `|N k=v …`. */
function runHistory(state: StageState, args: string[]): string {
  const argEnv = [...state.args].filter(([k]) => !PROXY_ARGS.has(k)).map(([k, v]) => `${k}=${v ?? ''}`);
  const prefix = argEnv.length ? [`|${argEnv.length}`, ...argEnv] : [];
  return `RUN ${[...prefix, ...args].join(' ')} # buildkit`;
}

export function runArgs(
  state: StageState,
  ins: RunInstruction,
): { args: string[]; files: NonNullable<ExecOp['files']> } {
  if (!ins.prependShell) return { args: [...ins.command], files: [] };
  const cmd = ins.command.join(' ');
  if (ins.heredocs.length === 0) return { args: [...state.shell, cmd], files: [] };
  const single = ins.heredocs.length === 1 && /^<<-?["']?[^\s"']+["']?$/.test(cmd.trim());
  if (single) {
    const doc = ins.heredocs[0]!;
    if (doc.content.startsWith('#!')) {
      // A script with its own interpreter is run as a file, like BuildKit does.
      const path = `/dev/pipes/${doc.name}`;
      return { args: [path], files: [{ path, content: doc.content, mode: 0o755 }] };
    }
    return { args: [...state.shell, doc.content], files: [] };
  }
  // Other heredocs go to the shell with the command, which reads them as its own here-documents.
  const script = [cmd, ...ins.heredocs.map((d) => `${d.content}${d.name}`)].join('\n');
  return { args: [...state.shell, script], files: [] };
}

export async function dispatchRun(state: StageState, ins: RunInstruction, ctx: FsDispatchContext): Promise<void> {
  const network = ins.network ?? 'default';
  if (!['default', 'host', 'none'].includes(network)) {
    throw new UserError(`unsupported network mode "${network}" for RUN --network`, {
      location: ins.location,
      hint: 'use default, host or none',
    });
  }
  const { args, files } = runArgs(state, ins);
  const inputs: Vertex[] = [state.vertex];
  const mounts: RunMount[] = [];
  const scope = expansionScope(state);
  let sshCount = 0;
  for (const text of ins.mounts) {
    const parsed = parseRunMount(
      text,
      (w) => ctx.lex.processWord(w, scope),
      ins.location,
      sshCount,
      state.config.WorkingDir || '/',
    );
    if (parsed.type === 'ssh') sshCount++;
    const { from, ...mount } = parsed;
    if (from !== undefined && (mount.type === 'bind' || mount.type === 'cache')) {
      const src = await ctx.resolveFrom(from, ins, mount.target);
      if ('localContext' in src) {
        if (mount.type === 'cache')
          throw new UserError(
            `RUN --mount=type=cache,from=${from}: a cache cannot be seeded from a --build-context directory`,
            {
              location: ins.location,
              hint: 'seed it from a stage that copies the directory in',
            },
          );
        mounts.push({ ...mount, context: src.localContext });
      } else {
        inputs.push(src);
        mounts.push({ ...mount, input: inputs.length - 1 });
      }
    } else {
      mounts.push(mount);
    }
  }
  const op: ExecOp = {
    type: 'exec',
    args,
    env: runEnvironment(state),
    cwd: state.config.WorkingDir || '/',
    user: state.config.User ?? '',
    // `default` is the build's --network (BuildKit's force-network-mode), else the host's
    network: network === 'default' ? (ctx.runSettings?.network ?? 'host') : network === 'none' ? 'none' : 'host',
  };
  const run = ctx.runSettings;
  if (run?.extraHosts?.length) op.extraHosts = run.extraHosts;
  if (run?.shmSize !== undefined) op.shmSize = run.shmSize;
  if (run?.ulimits?.length) op.ulimits = run.ulimits;
  // the parser has checked the value; `sandbox` is the default and stays out of the op (and its key)
  if (ins.security === 'insecure') op.security = 'insecure';
  if (ins.devices?.length) op.devices = ins.devices.map((d) => parseRunDevice(d, ins));
  if (mounts.length) op.mounts = mounts;
  if (files.length) op.files = files;
  // read by the frontend from the build args, declared or not, as BuildKit does
  const hostname = ctx.buildArgs.get('BUILDKIT_SANDBOX_HOSTNAME');
  if (hostname) op.hostname = hostname;
  // a stage for another platform runs under the kernel's emulator for it; the platform keys the step
  if (!platformsEqual(state.platform, defaultPlatform()))
    op.platform = formatPlatform(normalizePlatform(state.platform));
  const proxyEnv = proxyEnvironment(state, ctx.buildArgs);
  if (proxyEnv.length) op.proxyEnv = proxyEnv;
  state.vertex = newVertex(state, ctx, op, inputs, ins);
  addHistory(state, runHistory(state, args), true);
}

/** `--device=vendor.com/class=name[,required[=BOOL]]`, BuildKit's RUN --device value. */
function parseRunDevice(text: string, ins: RunInstruction): { name: string; required?: boolean } {
  const [name = '', ...opts] = text.split(',').map((s) => s.trim());
  if (!/^[^/=]+\/[^/=]+=[^/=]+$/.test(name))
    throw new UserError(`RUN --device=${text}: a device is named vendor.com/class=name`, { location: ins.location });
  const out: { name: string; required?: boolean } = { name };
  for (const opt of opts) {
    const [key, value = 'true'] = opt.split('=');
    if (key !== 'required' || !['true', 'false'].includes(value))
      throw new UserError(`RUN --device=${text}: unknown option "${opt}"`, {
        location: ins.location,
        hint: 'the one option is required (or required=false)',
      });
    if (value === 'true') out.required = true;
  }
  return out;
}
