/** WORKDIR: sets the config's working dir and creates it (a mkdir op) unless it is `/`. */
import { posix } from 'node:path';
import { addHistory } from './dispatch-config.js';
import { checkPathWord, newVertex, type FsDispatchContext } from './dispatch-common.js';
import type { WorkdirInstruction } from './instruction-types.js';
import { expansionScope, type StageState } from './stage-state.js';

export function dispatchWorkdir(state: StageState, ins: WorkdirInstruction, ctx: FsDispatchContext): void {
  const raw = checkPathWord(ctx.lex.processWord(ins.path, expansionScope(state)), 'WORKDIR', ins.location);
  let wd = posix.normalize(posix.isAbsolute(raw) ? raw : posix.join(state.config.WorkingDir || '/', raw));
  // Go's path.Join, which BuildKit uses, never keeps a trailing slash.
  if (wd.length > 1 && wd.endsWith('/')) wd = wd.slice(0, -1);
  state.config.WorkingDir = wd;
  if (wd === '/') {
    addHistory(state, `WORKDIR ${wd}`, false);
    return;
  }
  const op = {
    type: 'mkdir' as const,
    path: wd,
    mode: 0o755,
    ...(state.config.User ? { user: state.config.User } : {}),
  };
  state.vertex = newVertex(state, ctx, op, [state.vertex], ins);
  addHistory(state, `WORKDIR ${wd}`, true);
}
