/**
 * Checks of each stage's FROM line, run over every stage (built or not), as BuildKit runs them
 * while it reads the stages: UndefinedArgInFrom, RedundantTargetPlatform,
 * FromPlatformFlagConstDisallowed, InvalidDefaultArgInFrom.
 */
import { parseReference } from '../../registry/reference.js';
import type { ShellLex } from '../shell-lexer.js';
import type { Stage } from '../stage-state.js';
import type { Linter } from './linter.js';
import { RULES } from './rules.js';
import { suggestName } from './suggest.js';

type Scope = (name: string) => string | undefined;

const spanOf = (stage: Stage) => ({ location: stage.from.location, endLine: stage.from.endLine });

/**
 * `known`: the global ARGs declared (with or without a value) and the predefined ones. `scope`
 * gives their values.
 */
export function checkFromLine(
  stage: Stage,
  lex: ShellLex,
  scope: Scope,
  known: ReadonlySet<string>,
  lint: Linter,
): void {
  const l = lint.withComments(stage.from.comments);
  const reportUndeclared = (unmatched: Set<string>): void => {
    for (const name of unmatched) {
      if (known.has(name)) continue;
      l.run(RULES.UndefinedArgInFrom, spanOf(stage), RULES.UndefinedArgInFrom.format(name, suggestName(name, known)));
    }
  };
  try {
    reportUndeclared(lex.processWordWithMatches(stage.from.image, scope).unmatched);
  } catch {
    // a word that does not expand fails the build later, with its own error
  }
  const platform = stage.from.platform;
  if (platform === undefined) return;
  let m;
  try {
    m = lex.processWordWithMatches(platform, scope);
  } catch {
    return;
  }
  reportUndeclared(m.unmatched);
  // only `$TARGETPLATFORM` / `${TARGETPLATFORM}` itself: a word that also held another (empty) variable is not redundant
  if (m.matched.size === 1 && m.unmatched.size === 0 && m.matched.has('TARGETPLATFORM')) {
    if (m.result === scope('TARGETPLATFORM'))
      l.run(RULES.RedundantTargetPlatform, spanOf(stage), RULES.RedundantTargetPlatform.format(platform));
  }
  if (m.matched.size === 0 && m.unmatched.size === 0) {
    const [os, arch] = m.result.split('/');
    if (!os || !arch) return; // not a platform: it fails later
    const name = stage.name ?? '';
    if (name.includes(os) || name.includes(arch)) return; // a stage named for its platform means it
    l.run(RULES.FromPlatformFlagConstDisallowed, spanOf(stage), RULES.FromPlatformFlagConstDisallowed.format(m.result));
  }
}

/** InvalidDefaultArgInFrom: with no --build-arg, would each FROM still name an image? `defaults` are the global ARGs' defaults. */
export function checkDefaultBaseNames(stages: readonly Stage[], lex: ShellLex, defaults: Scope, lint: Linter): void {
  for (const stage of stages) {
    let name: string;
    try {
      name = lex.processWord(stage.from.image, defaults);
    } catch {
      return;
    }
    if (validBaseName(name)) continue;
    lint.run(RULES.InvalidDefaultArgInFrom, spanOf(stage), RULES.InvalidDefaultArgInFrom.format(stage.from.image));
  }
}

function validBaseName(name: string): boolean {
  if (name.startsWith('oci-layout://')) return name.length > 'oci-layout://'.length;
  try {
    parseReference(name);
    return true;
  } catch {
    return false;
  }
}
