/**
 * Runs build checks: a rule that is not skipped (or an experimental one that was asked for)
 * adds a warning to the build's list, as BuildKit's linter.Linter does.
 */
import { UserError, type SourceLocation } from '../../errors.js';
import type { Warning } from '../instruction-types.js';
import { DEFAULT_CHECK_OPTIONS, optionsFromComments, type CheckOptions } from './check-options.js';
import type { CheckRule } from './rules.js';

/** Where a check points: an instruction's first line, and its last (heredoc bodies included). */
export interface CheckSpan {
  location: SourceLocation;
  endLine?: number;
}

export class Linter {
  private constructor(
    private readonly options: CheckOptions,
    private readonly sink: Warning[],
    /** Shared by the linters derived with withComments: `error=true` looks at every rule that fired. */
    private readonly fired: Set<string>,
  ) {}

  static create(options: CheckOptions, sink: Warning[]): Linter {
    return new Linter(options, sink, new Set());
  }

  /** A linter that reports nothing (ONBUILD triggers, which were checked where they were written). */
  static silent(): Linter {
    return new Linter({ ...DEFAULT_CHECK_OPTIONS, skipAll: true }, [], new Set());
  }

  /** This linter with what a `# check=` comment right above an instruction adds. */
  withComments(comments: readonly string[] | undefined): Linter {
    if (!comments?.length) return this;
    const options = optionsFromComments(this.options, comments);
    return options === this.options ? this : new Linter(options, this.sink, this.fired);
  }

  run(rule: CheckRule, span: CheckSpan | undefined, detail: string): void {
    if (rule.experimental) {
      if (!this.options.experimentalAll && !this.options.experimental.has(rule.name)) return;
    } else if (this.options.skipAll || this.options.skip.has(rule.name)) {
      return;
    }
    this.fired.add(rule.name);
    this.sink.push({
      message: detail,
      rule: { name: rule.name, description: rule.description, ...(rule.url ? { url: rule.url } : {}) },
      ...(span ? { location: span.location, ...(span.endLine ? { endLine: span.endLine } : {}) } : {}),
    });
  }

  /** With `error=true`, the error a build that fired any rule ends with (BuildKit's words). */
  violation(): UserError | undefined {
    if (!this.options.error || this.fired.size === 0) return undefined;
    return new UserError(`lint violation found for rules: ${[...this.fired].sort().join(', ')}`, {
      hint: 'fix the warnings above, or leave out error=true from the check directive or BUILDKIT_DOCKERFILE_CHECK',
    });
  }
}
