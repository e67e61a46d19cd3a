import type { SourceLocation } from '../errors.js';
import type { ContainerConfig, HistoryEntry } from '../image/types.js';
import type { Vertex } from '../solver/graph.js';
import type { CheckSpan } from './checks/linter.js';
import type { FromInstruction, Instruction } from './instruction-types.js';

/** One `FROM … [AS name]` block of a Dockerfile. */
export interface Stage {
  index: number;
  /** Lowercased `AS` name, if any. */
  name?: string;
  from: FromInstruction;
  instructions: Instruction[];
}

/** What dispatching a stage builds up, instruction by instruction. */
export interface StageState {
  stage: Stage;
  /** The vertex holding the stage's filesystem so far. */
  vertex: Vertex;
  platform: { architecture: string; os: string; variant?: string };
  config: ContainerConfig;
  history: HistoryEntry[];
  author?: string;
  /** ARGs declared in this stage, in order, with their effective values (undefined: declared, no value). */
  args: Map<string, string | undefined>;
  shell: string[];
  /** CMD set in this stage: ENTRYPOINT then keeps it instead of clearing the inherited one. */
  cmdSet: boolean;
  /** The instruction being dispatched, for warnings raised while expanding its words. */
  currentLocation?: SourceLocation;
  /** Variables the current instruction's words used that had no value in the stage (the UndefinedVar check). */
  unmatched: Set<string>;
  /** A WORKDIR was set in this stage or the stage it is built on (the WorkdirRelativePath check). */
  workdirSet: boolean;
  /** The last CMD, ENTRYPOINT and HEALTHCHECK of this stage (the MultipleInstructionsDisallowed check). */
  usedOnce: Map<string, CheckSpan>;
  /** The stage's name in step names (`[label n/N]`). */
  label: string;
  /** Steps named so far (FROM of an image counts as the first). */
  stepNumber: number;
  stepTotal: number;
}

export const DEFAULT_SHELL = ['/bin/sh', '-c'];
export const DEFAULT_PATH = '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';

/** `KEY=VALUE` list → lookup (the last definition wins, as in a process environment). */
export function envLookup(env: readonly string[] | undefined): Map<string, string> {
  const map = new Map<string, string>();
  for (const kv of env ?? []) {
    const eq = kv.indexOf('=');
    if (eq < 0) map.set(kv, '');
    else map.set(kv.slice(0, eq), kv.slice(eq + 1));
  }
  return map;
}

/** A stage's `config.Env` as a lookup, with each key's position in the list. */
interface EnvIndex {
  values: Map<string, string>;
  positions: Map<string, number>;
}

// Built once per Env list and kept up to date by setStageEnv: an index rebuilt (or a list copied)
// per instruction made 10,000 ENV lines quadratic (28 s). A list replaced wholesale gets a new one.
const envIndexes = new WeakMap<string[], EnvIndex>();

function envIndexOf(env: string[]): EnvIndex {
  let index = envIndexes.get(env);
  if (!index) {
    const positions = new Map<string, number>();
    env.forEach((kv, i) => {
      const eq = kv.indexOf('=');
      const key = eq < 0 ? kv : kv.slice(0, eq);
      if (!positions.has(key)) positions.set(key, i);
    });
    index = { values: envLookup(env), positions };
    envIndexes.set(env, index);
  }
  return index;
}

/** The stage's ENV as a lookup (live: later ENV instructions show through it). */
export function stageEnv(state: StageState): ReadonlyMap<string, string> {
  state.config.Env ??= [];
  return envIndexOf(state.config.Env).values;
}

/**
 * Sets or replaces `key` in the stage's ENV (keeping its position), in place and in constant time. Each stage's config is its own
 * copy (structuredClone from its base), and ops copy the list they keep (runEnvironment).
 */
export function setStageEnv(state: StageState, key: string, value: string): void {
  const env = (state.config.Env ??= []);
  const index = envIndexOf(env);
  const at = index.positions.get(key);
  if (at === undefined) {
    index.positions.set(key, env.length);
    env.push(`${key}=${value}`);
  } else {
    env[at] = `${key}=${value}`;
  }
  index.values.set(key, value);
}

/**
 * The variables an instruction's words are expanded with: the stage's ARGs, overridden by the
 * image's ENV (ENV always wins over an ARG of the same name, as in Docker).
 */
export function expansionScope(state: StageState): (name: string) => string | undefined {
  const env = stageEnv(state);
  return (name) => {
    if (env.has(name)) return env.get(name);
    if (state.args.has(name)) return state.args.get(name);
    state.unmatched.add(name);
    return undefined;
  };
}
