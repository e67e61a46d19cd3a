/** COPY and ADD: a copy op from the context, another stage or an image, URLs, git repositories, or heredoc bodies. */
import { posix } from 'node:path';
import { UserError } from '../errors.js';
import type { CopyOp, GitSource, UrlSource, Vertex } from '../solver/graph.js';
import { octalMode, parseModeChange } from '../snapshot/file-mode.js';
import { inlineFileName } from '../snapshot/inline-name.js';
import { parseCommitChecksum, parseDigest } from '../sources/checksum.js';
import { parseGitRef } from '../sources/git-ref.js';
import { urlFileName } from '../sources/http-download.js';
import { addHistory } from './dispatch-config.js';
import { checkPathWord, newVertex, type FsDispatchContext } from './dispatch-common.js';
import { IgnoreMatcher } from '../cache/dockerignore.js';
import type { CopyInstruction } from './instruction-types.js';
import { ShellLex } from './shell-lexer.js';
import { expansionScope, type StageState } from './stage-state.js';

const HEREDOC_LEX = new ShellLex('\\', { skipProcessQuotes: true });

/** Makes `dest` absolute against WORKDIR, keeping a trailing slash (it means "a directory"). */
export function resolveDest(workdir: string | undefined, dest: string): string {
  // an empty destination is the WORKDIR itself, as `.` is (BuildKit's convert_copy.go)
  const trailing = dest.endsWith('/') || dest.endsWith('/.') || dest === '.' || dest === '';
  let abs = posix.isAbsolute(dest) ? dest : posix.join(workdir || '/', dest);
  abs = posix.normalize(abs);
  if (trailing && !abs.endsWith('/')) abs += '/';
  return abs;
}

/** Octal stays a number (as BuildKit keeps it); anything else must parse as a symbolic mode. */
function applyChmod(op: CopyOp, value: string): void {
  const octal = octalMode(value);
  if (octal !== undefined) {
    op.chmod = octal;
    return;
  }
  parseModeChange(value);
  op.chmodSymbolic = value;
}

function checkExcludes(patterns: string[], ins: CopyInstruction): void {
  try {
    new IgnoreMatcher(patterns);
    // A reversed range is only found when a pattern is used: use each once.
    for (const p of patterns) new IgnoreMatcher([p.replace(/^!/, '')]).matches('probe');
  } catch (err) {
    if (!(err instanceof UserError)) throw err;
    throw new UserError(`invalid --exclude pattern in ${JSON.stringify(patterns)}`, {
      location: ins.location,
      hint: 'patterns follow .dockerignore syntax: *, ?, [a-z], ** and a leading ! to re-include',
      cause: err,
    });
  }
}

interface RemoteOptions {
  checksum?: string;
  keepGitDir?: boolean;
}

/** A source word as a URL or git source, or undefined for a local path. COPY refuses both. */
function remoteSource(p: string, ins: CopyInstruction, opts: RemoteOptions): UrlSource | GitSource | undefined {
  const fail = (message: string, hint?: string) =>
    new UserError(message, { location: ins.location, ...(hint ? { hint } : {}) });
  const git = parseGitRef(p);
  if (git) {
    if (ins.kind === 'COPY') throw fail("source can't be a git ref for COPY", 'use ADD for git repositories');
    if (opts.keepGitDir !== undefined && git.keepGitDir !== undefined && opts.keepGitDir !== git.keepGitDir)
      throw fail('inconsistent keep-git-dir configuration');
    if (opts.checksum && git.checksum && opts.checksum !== git.checksum)
      throw fail(`checksum mismatch "${opts.checksum}" != "${git.checksum}"`);
    const checksum = opts.checksum ?? git.checksum;
    if (checksum !== undefined) parseCommitChecksum(checksum);
    const src: GitSource = { kind: 'git', remote: git.remote, keepGitDir: opts.keepGitDir ?? git.keepGitDir ?? false };
    if (git.ref) src.ref = git.ref;
    if (git.subdir) src.subdir = git.subdir;
    if (checksum) src.checksum = checksum;
    if (git.submodules === false) src.submodules = false;
    return src;
  }
  if (!/^https?:\/\//i.test(p)) return undefined;
  if (ins.kind === 'COPY') throw fail("source can't be a URL for COPY", 'use ADD to download a file');
  if (opts.checksum !== undefined) parseDigest(opts.checksum);
  return {
    kind: 'url',
    url: p,
    filename: urlFileName(p),
    unpack: ins.unpack === true,
    ...(opts.checksum ? { checksum: opts.checksum } : {}),
  };
}

export async function dispatchCopy(state: StageState, ins: CopyInstruction, ctx: FsDispatchContext): Promise<void> {
  const scope = expansionScope(state);
  const lex = ctx.lex;
  const destWord = checkPathWord(lex.processWord(ins.dest, scope), `${ins.kind} destination`, ins.location);
  const dest = resolveDest(state.config.WorkingDir, destWord);
  const inputs: Vertex[] = [state.vertex];
  let fromInput = 0;
  let fromContext: string | undefined;
  if (ins.from !== undefined) {
    // BuildKit resolves --from before any variable has a value, so it refuses one there
    if (lex.processWord(ins.from, () => undefined) !== ins.from)
      throw new UserError(
        'variable expansion is not supported for --from, define a new stage with FROM using ARG from global scope as a workaround',
        {
          location: ins.location,
          hint: `ARG X=… before the first FROM, then FROM $X AS src and ${ins.kind} --from=src`,
        },
      );
    const from = await ctx.resolveFrom(ins.from, ins);
    if ('localContext' in from) fromContext = from.localContext;
    else {
      inputs.push(from);
      fromInput = 1;
    }
  }
  const remote: RemoteOptions = {};
  if (ins.checksum !== undefined) remote.checksum = lex.processWord(ins.checksum, scope);
  if (ins.keepGitDir) remote.keepGitDir = true;
  if (remote.checksum !== undefined && ins.sources.length !== 1) {
    throw new UserError("checksum can't be specified for multiple sources", { location: ins.location });
  }
  const sources: CopyOp['sources'] = [];
  const heredocs = new Map(ins.heredocs.map((h) => [h.name, h]));
  let paths: string[] | undefined;
  // History shows the expanded words, heredocs last, as BuildKit's commit message does.
  const shown: string[] = [];
  const shownDocs: string[] = [];
  for (const word of ins.sources) {
    const doc = /^<<-?["']?([^"']+)["']?$/.exec(word);
    if (doc && heredocs.has(doc[1]!)) {
      const h = heredocs.get(doc[1]!)!;
      inlineFileName(h.name);
      // Heredoc bodies expand variables but keep their quotes, as BuildKit's heredoc lexer does.
      sources.push({
        kind: 'inline',
        name: h.name,
        content: h.expand ? HEREDOC_LEX.processWord(h.content, scope) : h.content,
      });
      shownDocs.push(`<<${h.name}`);
      continue;
    }
    const p = checkPathWord(lex.processWord(word, scope), `${ins.kind} source`, ins.location);
    shown.push(p);
    const r = fromInput || fromContext !== undefined ? undefined : remoteSource(p, ins, remote);
    if (r) {
      sources.push(r);
      paths = undefined;
      continue;
    }
    if (remote.checksum !== undefined)
      throw new UserError('checksum requires HTTP(S) or Git sources', { location: ins.location });
    // Local paths written next to each other form one source; URLs between them keep their place.
    if (!paths) {
      paths = [];
      sources.push(
        fromInput
          ? { kind: 'vertex', input: fromInput, paths }
          : { kind: 'context', paths, ...(fromContext !== undefined ? { context: fromContext } : {}) },
      );
    }
    paths.push(p);
  }
  const op: CopyOp = {
    type: 'copy',
    sources,
    dest,
    exclude: ins.exclude.map((e) => lex.processWord(e, scope)),
    preserveOwner: fromInput !== 0,
    cwd: state.config.WorkingDir || '/',
  };
  if (op.exclude.length) checkExcludes(op.exclude, ins);
  if (ins.chown !== undefined) op.chown = lex.processWord(ins.chown, scope);
  if (ins.chmod !== undefined) applyChmod(op, lex.processWord(ins.chmod, scope));
  if (ins.kind === 'ADD') op.unpackArchives = ins.unpack !== false;
  if (ins.link) op.link = true;
  if (ins.parents) op.parents = true;
  state.vertex = newVertex(state, ctx, op, inputs, ins);
  addHistory(state, `${ins.kind} ${[...shown, ...shownDocs, destWord].join(' ')} # buildkit`, true);
}
