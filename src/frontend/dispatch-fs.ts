/** Instructions that change the filesystem: each adds a vertex and a history entry with a layer. */
import { posix } from 'node:path';
import { UserError } from '../errors.js';
import type { CopyOp, ExecOp, Vertex } from '../solver/graph.js';
import { addHistory } from './dispatch-config.js';
import type { CopyInstruction, RunInstruction, WorkdirInstruction } from './instruction-types.js';
import { PROXY_ARGS } from './platform.js';
import { ShellLex } from './shell-lexer.js';
import { DEFAULT_PATH, envLookup, expansionScope, type StageState } from './stage-state.js';

const HEREDOC_LEX = new ShellLex('\\', { skipProcessQuotes: true });

export interface FsDispatchContext {
  lex: ShellLex;
  /** Build args given on the command line, for proxy variables used without ARG. */
  buildArgs: Map<string, string>;
  noCache: boolean;
  nextVertexId(): string;
  /** The vertex a `--from` word names (stage name, index, or image), resolved by the caller. */
  resolveFrom(word: string, ins: CopyInstruction): Promise<Vertex>;
}

function stepName(state: StageState, text: string): string {
  return `${state.label.replace('N', String(state.stepNumber))} ${text}`;
}

function newVertex(state: StageState, ctx: FsDispatchContext, op: Vertex['op'], inputs: Vertex[], ins: { original: string; location: StageState['stage']['from']['location'] }): Vertex {
  return {
    id: ctx.nextVertexId(),
    op,
    inputs,
    name: stepName(state, ins.original),
    stage: state.stage.name ?? String(state.stage.index),
    location: ins.location,
    noCache: ctx.noCache || undefined,
  };
}

/** The environment a RUN sees: the image ENV plus this stage's ARGs (ENV wins) and proxy args. */
export function runEnvironment(state: StageState, buildArgs: Map<string, string>): string[] {
  const env = envLookup(state.config.Env);
  const out = [...(state.config.Env ?? [])];
  if (!env.has('PATH')) out.unshift(`PATH=${DEFAULT_PATH}`);
  for (const [k, v] of state.args) {
    if (v !== undefined && !env.has(k)) out.push(`${k}=${v}`);
  }
  for (const k of PROXY_ARGS) {
    const v = buildArgs.get(k);
    if (v !== undefined && !state.args.has(k) && !env.has(k)) out.push(`${k}=${v}`);
  }
  return out;
}

/** BuildKit's history text for RUN: declared build args prefixed as `|N k=v …`. */
function runHistory(state: StageState, args: string[]): string {
  const argEnv = [...state.args].filter(([k]) => !PROXY_ARGS.has(k)).map(([k, v]) => `${k}=${v ?? ''}`);
  const prefix = argEnv.length ? [`|${argEnv.length}`, ...argEnv] : [];
  return `RUN ${[...prefix, ...args].join(' ')} # buildkit`;
}

export function runArgs(state: StageState, ins: RunInstruction): { args: string[]; files: NonNullable<ExecOp['files']> } {
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

export function dispatchRun(state: StageState, ins: RunInstruction, ctx: FsDispatchContext): void {
  if (ins.mounts.length > 0) {
    throw new UserError('RUN --mount is not supported yet', { location: ins.location, hint: 'remove --mount; bind, cache, secret and ssh mounts come in a later release' });
  }
  const network = ins.network ?? 'default';
  if (!['default', 'host', 'none'].includes(network)) {
    throw new UserError(`unsupported network mode "${network}" for RUN --network`, { location: ins.location, hint: 'use default, host or none' });
  }
  if (ins.security !== undefined && ins.security !== 'sandbox') {
    throw new UserError(`RUN --security=${ins.security} is not supported`, { location: ins.location, hint: 'only the default sandbox is available' });
  }
  const { args, files } = runArgs(state, ins);
  const op: ExecOp = {
    type: 'exec',
    args,
    env: runEnvironment(state, ctx.buildArgs),
    cwd: state.config.WorkingDir || '/',
    user: state.config.User ?? '',
    network: network === 'none' ? 'none' : 'host',
  };
  if (files.length) op.files = files;
  state.vertex = newVertex(state, ctx, op, [state.vertex], ins);
  addHistory(state, runHistory(state, args), true);
}

function parseChmod(value: string, ins: CopyInstruction): number {
  if (!/^[0-7]{1,4}$/.test(value)) {
    throw new UserError(`invalid --chmod value "${value}"`, { location: ins.location, hint: 'use an octal mode such as 0755 or 644' });
  }
  return parseInt(value, 8);
}

/** Makes `dest` absolute against WORKDIR, keeping a trailing slash (it means "a directory"). */
export function resolveDest(workdir: string | undefined, dest: string): string {
  const trailing = dest.endsWith('/') || dest.endsWith('/.') || dest === '.';
  let abs = posix.isAbsolute(dest) ? dest : posix.join(workdir || '/', dest);
  abs = posix.normalize(abs);
  if (trailing && !abs.endsWith('/')) abs += '/';
  return abs;
}

export async function dispatchCopy(state: StageState, ins: CopyInstruction, ctx: FsDispatchContext): Promise<void> {
  if (ins.parents) {
    throw new UserError(`${ins.kind} --parents is not supported yet`, { location: ins.location, hint: 'copy each directory to its full destination path instead' });
  }
  const scope = expansionScope(state);
  const lex = ctx.lex;
  const dest = resolveDest(state.config.WorkingDir, lex.processWord(ins.dest, scope));
  const inputs: Vertex[] = [state.vertex];
  let fromInput = 0;
  if (ins.from !== undefined) {
    const fromWord = lex.processWord(ins.from, scope);
    inputs.push(await ctx.resolveFrom(fromWord, ins));
    fromInput = 1;
  }
  const sources: CopyOp['sources'] = [];
  const heredocs = new Map(ins.heredocs.map((h) => [h.name, h]));
  const paths: string[] = [];
  for (const word of ins.sources) {
    const doc = /^<<-?["']?([^"']+)["']?$/.exec(word);
    if (doc && heredocs.has(doc[1]!)) {
      const h = heredocs.get(doc[1]!)!;
      // Heredoc bodies expand variables but keep their quotes, as BuildKit's heredoc lexer does.
      sources.push({ kind: 'inline', name: h.name, content: h.expand ? HEREDOC_LEX.processWord(h.content, scope) : h.content });
      continue;
    }
    const p = lex.processWord(word, scope);
    if (ins.kind === 'ADD' && /^(https?|git):\/\//.test(p)) {
      throw new UserError(`ADD from a URL is not supported yet: ${p}`, { location: ins.location, hint: 'download the file in a RUN step, or COPY it from the context' });
    }
    paths.push(p);
  }
  if (paths.length) sources.unshift(fromInput ? { kind: 'vertex', input: fromInput, paths } : { kind: 'context', paths });
  const op: CopyOp = {
    type: 'copy',
    sources,
    dest,
    exclude: ins.exclude.map((e) => lex.processWord(e, scope)),
    preserveOwner: fromInput !== 0,
    cwd: state.config.WorkingDir || '/',
  };
  if (ins.chown !== undefined) op.chown = lex.processWord(ins.chown, scope);
  if (ins.chmod !== undefined) op.chmod = parseChmod(lex.processWord(ins.chmod, scope), ins);
  if (ins.kind === 'ADD') op.unpackArchives = ins.unpack !== false;
  state.vertex = newVertex(state, ctx, op, inputs, ins);
  const srcText = [...ins.sources].join(' ');
  addHistory(state, `${ins.kind} ${srcText} ${ins.dest} # buildkit`, true);
}

export function dispatchWorkdir(state: StageState, ins: WorkdirInstruction, ctx: FsDispatchContext): void {
  const raw = ctx.lex.processWord(ins.path, expansionScope(state));
  const wd = posix.normalize(posix.isAbsolute(raw) ? raw : posix.join(state.config.WorkingDir || '/', raw));
  state.config.WorkingDir = wd;
  if (wd === '/') {
    addHistory(state, `WORKDIR ${wd}`, false);
    return;
  }
  const op = { type: 'mkdir' as const, path: wd, mode: 0o755, ...(state.config.User ? { user: state.config.User } : {}) };
  state.vertex = newVertex(state, ctx, op, [state.vertex], ins);
  addHistory(state, `WORKDIR ${wd}`, true);
}
