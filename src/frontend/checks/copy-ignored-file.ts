import { posix } from 'node:path';
import type { CopyInstruction } from '../instruction-types.js';
import { spanOf } from './instruction-checks.js';
import type { Linter } from './linter.js';
import { RULES } from './rules.js';

/** What the frontend knows of the context's .dockerignore. */
export interface ContextIgnore {
  isIgnored(rel: string): boolean;
  /** The cleaned patterns, exclusions with their `!`. */
  patterns: readonly string[];
}

/**
 * CopyIgnoredFile: a COPY/ADD source from the context that .dockerignore leaves out. Like
 * BuildKit, not judged when the file has `!` patterns (a re-included file inside an excluded
 * directory is hard to tell statically); the context root only when a pattern drops everything.
 */
export function checkCopyIgnored(
  ins: CopyInstruction,
  sources: readonly string[],
  ignore: ContextIgnore | undefined,
  lint: Linter,
): void {
  if (!ignore || ignore.patterns.length === 0 || ignore.patterns.some((p) => p.startsWith('!'))) return;
  for (const source of sources) {
    if (source.startsWith('<<') || /^[a-z][a-z0-9+.-]*:\/\//i.test(source) || source.startsWith('git@')) continue;
    const src = posix.normalize(source).replace(/\/$/, '') || '/';
    let ignored: boolean;
    if (src === '.' || src === '/') ignored = ignore.patterns.some((p) => p === '*' || p === '**' || p === '**/*');
    else ignored = ignore.isIgnored(src.replace(/^\/+/, ''));
    if (ignored)
      lint.run(
        RULES.CopyIgnoredFile,
        spanOf(ins),
        RULES.CopyIgnoredFile.format(ins.kind === 'ADD' ? 'Add' : 'Copy', src),
      );
  }
}
