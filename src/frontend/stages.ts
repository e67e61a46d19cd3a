import { UserError, nearest } from '../errors.js';
import type { ArgInstruction, DockerfileAst } from './instruction-types.js';
import type { Stage } from './stage-state.js';

export interface SplitDockerfile {
  /** ARGs before the first FROM. */
  globalArgs: ArgInstruction[];
  stages: Stage[];
}

/** Cuts the instruction list at each FROM. Only ARG may come before the first FROM. */
export function splitStages(ast: DockerfileAst): SplitDockerfile {
  const globalArgs: ArgInstruction[] = [];
  const stages: Stage[] = [];
  let current: Stage | undefined;
  for (const ins of ast.instructions) {
    if (ins.kind === 'FROM') {
      current = { index: stages.length, from: ins, instructions: [] };
      // a name used twice is the DuplicateStageName check, not an error: the later stage takes it (BuildKit)
      if (ins.stageName) current.name = ins.stageName;
      stages.push(current);
      continue;
    }
    if (!current) {
      if (ins.kind === 'ARG') {
        globalArgs.push(ins);
        continue;
      }
      throw new UserError(`${ins.kind} before the first FROM`, {
        location: ins.location,
        hint: 'a Dockerfile must start with FROM (only ARG and parser directives may come before it)',
      });
    }
    current.instructions.push(ins);
  }
  if (stages.length === 0) {
    // BuildKit's words as the core
    throw new UserError('dockerfile contains no stages to build: the Dockerfile has no FROM instruction', {
      location: { file: ast.file, line: 1, column: 1 },
      hint: 'start the build with FROM <image> or FROM scratch',
    });
  }
  return { globalArgs, stages };
}

/** The stage `--target` names (the last stage without one). */
export function resolveTarget(stages: Stage[], target: string | undefined, file: string): Stage {
  if (target === undefined || target === '') return stages[stages.length - 1]!;
  const found = stages.findLast((s) => s.name === target.toLowerCase());
  if (found) return found;
  const names = stages.map((s) => s.name).filter((n): n is string => !!n);
  const guess = nearest(target, names);
  // BuildKit's words, suggestion included (`… could not be found (did you mean build?)`)
  throw new UserError(`target stage "${target}" could not be found${guess ? ` (did you mean ${guess}?)` : ''}`, {
    hint: names.length
      ? `stages in ${file}: ${names.join(', ')}`
      : `no stage in ${file} has a name (use FROM image AS name)`,
  });
}

/** A stage by `--from`/`FROM` word: a name, or a number for a stage index. */
export function findStage(stages: Stage[], word: string, before?: number): Stage | undefined {
  const byName = stages.findLast((s) => s.name === word.toLowerCase() && (before === undefined || s.index < before));
  if (byName) return byName;
  if (/^\d+$/.test(word)) {
    const i = Number(word);
    if (i < stages.length) return stages[i];
  }
  return undefined;
}
