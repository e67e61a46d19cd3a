/**
 * Checks over the whole Dockerfile's stages: names (DuplicateStageName, ReservedStageName) and
 * keyword casing. BuildKit runs them with the file's options only (comments above a FROM do not apply).
 */
import type { Instruction } from '../instruction-types.js';
import type { Stage } from '../stage-state.js';
import type { Linter } from './linter.js';
import { RULES } from './rules.js';

const RESERVED_STAGE_NAMES = new Set(['context', 'scratch']);

const spanOf = (ins: Instruction) => ({ location: ins.location, endLine: ins.endLine });

export function checkStageNames(stages: readonly Stage[], lint: Linter): void {
  const seen = new Set<string>();
  for (const stage of stages) {
    const name = stage.name;
    if (!name) continue;
    if (RESERVED_STAGE_NAMES.has(name))
      lint.run(RULES.ReservedStageName, spanOf(stage.from), RULES.ReservedStageName.format(name));
    if (seen.has(name)) lint.run(RULES.DuplicateStageName, spanOf(stage.from), RULES.DuplicateStageName.format(name));
    seen.add(name);
  }
}

const isOneCase = (s: string): boolean => s === s.toLowerCase() || s === s.toUpperCase();

/**
 * ConsistentInstructionCasing: every keyword written all lower or all upper case, as most of the
 * file's keywords are (a tie counts as upper case).
 */
export function checkInstructionCasing(stages: readonly Stage[], lint: Linter): void {
  const all = stages.flatMap((s) => [s.from, ...s.instructions]);
  let lower = 0;
  let upper = 0;
  for (const ins of all) {
    const k = ins.writtenKeyword;
    if (!isOneCase(k)) continue;
    if (k === k.toLowerCase()) lower++;
    else upper++;
  }
  const majorityLower = lower > upper;
  for (const ins of all) {
    const k = ins.writtenKeyword;
    const wrong = majorityLower ? k !== k.toLowerCase() : k !== k.toUpperCase();
    if (!wrong) continue;
    const casing = majorityLower ? 'lowercase' : 'uppercase';
    lint.run(RULES.ConsistentInstructionCasing, spanOf(ins), RULES.ConsistentInstructionCasing.format(k, casing));
  }
}
