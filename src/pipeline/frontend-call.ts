/**
 * `--call=check|outline|targets`: the frontend answers a question about the Dockerfile and
 * nothing is built (BuildKit's frontend subrequests, printed as buildx prints them).
 */
import { UserError } from '../errors.js';
import type { BaseImageResolver } from '../frontend/build-plan.js';
import type { ContextIgnore } from '../frontend/checks/copy-ignored-file.js';
import { formatLintText, lintResults } from '../frontend/checks/lint-report.js';
import { convertDockerfile } from '../frontend/convert.js';
import type { Warning } from '../frontend/instruction-types.js';
import type { BuildRequest, BuildResult } from './build-request.js';

interface CallInput {
  file: string;
  source: string;
  resolveImage: BaseImageResolver;
  contextIgnore: ContextIgnore | undefined;
}

export async function runFrontendCall(req: BuildRequest, input: CallInput): Promise<NonNullable<BuildResult['call']>> {
  const call = req.call!;
  if (call.name !== 'check') {
    const { outlineCall } = await import('../frontend/outline.js');
    return outlineCall(
      { name: call.name, format: call.format },
      { file: input.file, source: input.source, buildArgs: req.buildArgs, target: req.target },
    );
  }
  const warnings: Warning[] = [];
  let error: { message: string; line?: number } | undefined;
  try {
    await convertDockerfile({
      file: input.file,
      source: input.source,
      buildArgs: req.buildArgs,
      ...(req.target ? { target: req.target } : {}),
      resolveImage: input.resolveImage,
      // no target: every stage, as BuildKit checks them all
      allStages: !req.target,
      warnings,
      ...(input.contextIgnore ? { contextIgnore: input.contextIgnore } : {}),
    });
  } catch (err) {
    // a Dockerfile error is part of the answer; anything else (a bug, a full disk) is not
    if (!(err instanceof UserError)) throw err;
    error = { message: err.message, ...(err.location ? { line: err.location.line } : {}) };
  }
  const results = lintResults(warnings, input.file, input.source, error);
  const exitCode = results.warnings.length > 0 || error ? 1 : 0;
  if (call.format === 'json') return { output: `${JSON.stringify(results, null, 2)}\n`, exitCode };
  const text = formatLintText({ ...results, buildError: undefined }, input.source, input.file);
  if (!error) return { output: text, exitCode };
  const errText = formatLintText(
    { warnings: [], sources: [], buildError: results.buildError },
    input.source,
    input.file,
  );
  return { output: results.warnings.length ? text : '', exitCode, error: errText };
}
