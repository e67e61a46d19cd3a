/** What the filesystem instructions share: the dispatch context and how a step's vertex is made. */
import type { Vertex } from '../solver/graph.js';
import type { RunSettings } from './build-plan.js';
import { UserError, type SourceLocation } from '../errors.js';
import type { ShellLex } from './shell-lexer.js';
import type { StageState } from './stage-state.js';

export interface FsDispatchContext {
  lex: ShellLex;
  /** Build args given on the command line, for proxy variables used without ARG. */
  buildArgs: Map<string, string>;
  noCache: boolean;
  nextVertexId(): string;
  /**
   * What a `--from` word names (stage name, index, image, or a `--build-context` directory, which
   * is read in place), resolved by the caller.
   */
  resolveFrom(word: string, ins: { location: SourceLocation; kind: string }, mountTarget?: string): Promise<FromSource>;
  /** `--network`, `--add-host`, `--shm-size`, `--ulimit`, for every RUN. */
  runSettings?: RunSettings;
}

/** A `--from` source: a vertex's rootfs, or a `--build-context` directory by name. */
export type FromSource = Vertex | { localContext: string };

/**
 * `[stage n/N] TEXT` as BuildKit's prefixCommand writes it: each call is the stage's next step,
 * the number padded to the width of the total (`[app  3/12]`).
 */
export function stepName(state: StageState, text: string): string {
  state.stepNumber += 1;
  const width = String(state.stepTotal).length;
  return `[${state.label} ${String(state.stepNumber).padStart(width)}/${state.stepTotal}] ${text}`;
}

export function newVertex(
  state: StageState,
  ctx: FsDispatchContext,
  op: Vertex['op'],
  inputs: Vertex[],
  ins: { original: string; location: StageState['stage']['from']['location'] },
): Vertex {
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

/**
 * A path from the Dockerfile, checked before it reaches the filesystem: no system call takes a
 * NUL byte, so one is the Dockerfile's error at its line, not a crash in a later step.
 */
export function checkPathWord(path: string, what: string, location: SourceLocation): string {
  if (path.includes('\0'))
    throw new UserError(`${what} ${JSON.stringify(path)} contains a NUL byte`, {
      location,
      hint: 'paths cannot hold NUL bytes; remove it from the Dockerfile',
    });
  return path;
}
