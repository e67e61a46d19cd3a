/** COPY and ADD: a copy op from the context, another stage or an image, or heredoc bodies. */
import { posix } from 'node:path';
import { UserError } from '../errors.js';
import type { CopyOp, Vertex } from '../solver/graph.js';
import { addHistory } from './dispatch-config.js';
import { newVertex, type FsDispatchContext } from './dispatch-common.js';
import type { CopyInstruction } from './instruction-types.js';
import { ShellLex } from './shell-lexer.js';
import { expansionScope, type StageState } from './stage-state.js';

const HEREDOC_LEX = new ShellLex('\\', { skipProcessQuotes: true });

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
