import type { SourceLocation } from '../errors.js';
import type { ContainerConfig, HistoryEntry } from '../image/types.js';
import type { Vertex } from '../solver/graph.js';
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
  /** Variables an expanded word used that had no value in the stage, first use kept (for lint warnings). */
  misses: Map<string, SourceLocation | undefined>;
  /** Display prefix, `[name n/N]`. */
  label: string;
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

/** Sets or replaces `key` in a `KEY=VALUE` list, keeping its position when it exists. */
export function setEnv(env: string[], key: string, value: string): string[] {
  const out = [...env];
  const i = out.findIndex((kv) => kv === key || kv.startsWith(`${key}=`));
  if (i >= 0) out[i] = `${key}=${value}`;
  else out.push(`${key}=${value}`);
  return out;
}

/**
 * The variables an instruction's words are expanded with: the stage's ARGs, overridden by the
 * image's ENV (ENV always wins over an ARG of the same name, as in Docker).
 */
export function expansionScope(state: StageState): (name: string) => string | undefined {
  const env = envLookup(state.config.Env);
  return (name) => {
    if (env.has(name)) return env.get(name);
    if (state.args.has(name)) return state.args.get(name);
    if (!state.misses.has(name)) state.misses.set(name, state.currentLocation);
    return undefined;
  };
}
