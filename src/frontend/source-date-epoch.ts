/**
 * SOURCE_DATE_EPOCH given in the Dockerfile (Dockerfile 1.23+): `ARG SOURCE_DATE_EPOCH=…` before
 * the first FROM, overridden by `--build-arg`. The value is a number of seconds, `context`, or
 * the name of a stage that is only `FROM scratch`, ARGs and one remote ADD (BuildKit's
 * dockerfile2llb/epoch.go), whose source's date is the epoch. A `--build-context` of that name comes first,
 * as in BuildKit: one fetched from a git or http(s) URL gives that source's date, any other none.
 */
import { UserError, type SourceLocation } from '../errors.js';
import type { NamedContext } from './build-plan.js';
import type { Stage } from './stage-state.js';
import { parseGitRef } from '../sources/git-ref.js';

export type EpochValue =
  | { kind: 'none' }
  | { kind: 'seconds'; seconds: number }
  | { kind: 'stage'; stage: Stage; source: string }
  | { kind: 'named'; name: string; source: string };

/** What the value names; throws BuildKit's errors for a value or a stage it cannot use. */
export function resolveEpochValue(
  value: string | undefined,
  stages: Stage[],
  expandFrom: (word: string) => string,
  location?: SourceLocation,
  named?: (name: string) => NamedContext | undefined,
): EpochValue {
  if (value === undefined || value === '') return { kind: 'none' };
  if (/^-?\d+$/.test(value)) return { kind: 'seconds', seconds: Number(value) };
  // a local context has no date of its own: BuildKit leaves the epoch unset
  if (value === 'context') return { kind: 'none' };
  const context = named?.(value);
  if (context)
    return context.kind === 'local' && context.source
      ? { kind: 'named', name: value, source: context.source }
      : { kind: 'none' };
  const stage = stages.find((s) => s.name === value.toLowerCase());
  if (!stage)
    throw new UserError(`invalid SOURCE_DATE_EPOCH: ${value}`, {
      ...(location ? { location } : {}),
      hint: 'give a number of seconds since 1970, "context", or the name of a stage that ADDs one remote source',
    });
  return { kind: 'stage', stage, source: stageSource(stage, expandFrom) };
}

function stageSource(stage: Stage, expandFrom: (word: string) => string): string {
  const fail = (message: string): never => {
    throw new UserError(message, {
      location: stage.from.location,
      hint: 'a SOURCE_DATE_EPOCH stage is FROM scratch, ARGs and one ADD of an http(s) or git URL',
    });
  };
  if (expandFrom(stage.from.image).toLowerCase() !== 'scratch') fail('SOURCE_DATE_EPOCH stage must use FROM scratch');
  let source: string | undefined;
  for (const ins of stage.instructions) {
    if (ins.kind === 'ARG') continue;
    if (ins.kind !== 'ADD')
      return fail(
        `SOURCE_DATE_EPOCH stage does not meet source-only requirements: unsupported ${ins.kind.toLowerCase()} instruction`,
      );
    if (source !== undefined) fail('SOURCE_DATE_EPOCH stage must contain exactly one remote ADD');
    if (ins.heredocs.length || ins.sources.length !== 1)
      fail('SOURCE_DATE_EPOCH stage must contain exactly one remote ADD source');
    source = ins.sources[0]!;
    if (!/^https?:\/\//i.test(source) && !parseGitRef(source))
      fail('SOURCE_DATE_EPOCH stage source must be a single HTTP(S) or Git ADD');
  }
  return source ?? fail('SOURCE_DATE_EPOCH stage must contain exactly one remote ADD');
}
