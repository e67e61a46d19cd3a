/**
 * Checks BuildKit runs as it builds a stage, so only for the stages a build needs (`--check`
 * builds every stage): key/value format, secrets in ARG/ENV, relative WORKDIR, shell-form
 * CMD/ENTRYPOINT, repeated CMD/ENTRYPOINT/HEALTHCHECK, EXPOSE port forms, undefined variables.
 */
import type { Instruction } from '../instruction-types.js';
import type { CheckSpan, Linter } from './linter.js';
import { RULES } from './rules.js';
import { suggestName } from './suggest.js';

export const spanOf = (ins: Instruction): CheckSpan => ({ location: ins.location, endLine: ins.endLine });

export function checkLegacyKeyValue(ins: Instruction & { legacyFormat: boolean }, lint: Linter): void {
  if (ins.legacyFormat) lint.run(RULES.LegacyKeyValueFormat, spanOf(ins), RULES.LegacyKeyValueFormat.format(ins.kind));
}

const SECRET_WORD = /(?:_|^)(?:apikey|auth|credential|credentials|key|password|pword|passwd|secret|token)(?:_|$)/i;
const ALLOWED_WORD = /(?:_|^)(?:public|file|version)(?:_|$)/i;

/** SecretsUsedInArgOrEnv: a name whose first or last word (or whole) says it holds a secret. */
export function checkSecretKeys(ins: Instruction, keys: readonly string[], lint: Linter): void {
  for (const key of keys) {
    if (SECRET_WORD.test(key) && !ALLOWED_WORD.test(key))
      lint.run(RULES.SecretsUsedInArgOrEnv, spanOf(ins), RULES.SecretsUsedInArgOrEnv.format(ins.kind, key));
  }
}

/** WorkdirRelativePath: only the stage's first WORKDIR counts (fixing it fixes the rest). */
export function checkWorkdir(ins: Instruction & { path: string }, workdirSet: boolean, lint: Linter): void {
  if (!workdirSet && !ins.path.startsWith('/'))
    lint.run(RULES.WorkdirRelativePath, spanOf(ins), RULES.WorkdirRelativePath.format(ins.path));
}

/** JSONArgsRecommended: shell form with no SHELL set, where signals go to /bin/sh and not the program. */
export function checkShellForm(ins: Instruction & { prependShell: boolean }, shellSet: boolean, lint: Linter): void {
  if (ins.prependShell && !shellSet)
    lint.run(RULES.JSONArgsRecommended, spanOf(ins), RULES.JSONArgsRecommended.format(ins.kind));
}

/** MultipleInstructionsDisallowed: reported at the earlier instruction, the one that has no effect. */
export function checkUsedOnce(ins: Instruction, seen: Map<string, CheckSpan>, lint: Linter): void {
  const before = seen.get(ins.kind);
  if (before)
    lint.run(RULES.MultipleInstructionsDisallowed, before, RULES.MultipleInstructionsDisallowed.format(ins.kind));
  seen.set(ins.kind, spanOf(ins));
}

/** ExposeProtoCasing and ExposeInvalidFormat, on the expanded port words. */
export function checkExposePorts(ins: Instruction, ports: readonly string[], lint: Linter): void {
  for (const port of ports) {
    const parts = port.split(':');
    const proto = (parts.at(-1) ?? '').split('/')[1] ?? '';
    if (proto !== proto.toLowerCase())
      lint.run(RULES.ExposeProtoCasing, spanOf(ins), RULES.ExposeProtoCasing.format(port));
    if (parts.length > 1) lint.run(RULES.ExposeInvalidFormat, spanOf(ins), RULES.ExposeInvalidFormat.format(port));
  }
}

/**
 * UndefinedVar: variables an instruction's words used that neither the environment nor an ARG
 * of the stage declared (an ARG without a value counts as declared).
 */
export function checkUndefinedVars(
  ins: Instruction,
  unmatched: ReadonlySet<string>,
  isDeclared: (name: string) => boolean,
  /** Called only when there is something to report: a long Dockerfile must not pay for it per instruction. */
  envKeys: () => Iterable<string>,
  lint: Linter,
): void {
  for (const name of unmatched) {
    if (isDeclared(name) || NON_ENV_ARGS.has(name)) continue;
    lint.run(RULES.UndefinedVar, spanOf(ins), RULES.UndefinedVar.format(name, suggestName(name, envKeys())));
  }
}

/** ARGs BuildKit never puts into the environment. */
const NON_ENV_ARGS = new Set(['BUILDKIT_SBOM_SCAN_CONTEXT', 'BUILDKIT_SBOM_SCAN_STAGE']);
