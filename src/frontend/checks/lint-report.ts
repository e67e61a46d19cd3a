/**
 * The result of `--call=check`, in BuildKit's shapes: the JSON of its lint subrequest
 * (`format=json`) and the text buildx prints from it, source excerpts included.
 */
import type { Warning } from '../instruction-types.js';

export interface Range {
  start: { line: number };
  end: { line: number };
}

export interface LintResults {
  warnings: { ruleName: string; description?: string; url?: string; detail?: string; location: { ranges?: Range[] } }[];
  sources: { filename: string; language: string; data: string }[];
  buildError?: { message: string; location: { ranges?: Range[] } };
}

/** One range per line from `start` to `end`, as BuildKit's parser makes them. */
export function lineRanges(start: number, end = start): Range[] {
  const out: Range[] = [];
  for (let l = start; l <= Math.max(start, end); l++) out.push({ start: { line: l }, end: { line: l } });
  return out;
}

export function lintResults(
  warnings: readonly Warning[],
  file: string,
  source: string,
  error?: { message: string; line?: number; endLine?: number },
): LintResults {
  const checks = warnings.filter((w) => w.rule);
  return {
    warnings: checks.map((w) => ({
      ruleName: w.rule!.name,
      ...(w.rule!.description ? { description: w.rule!.description } : {}),
      ...(w.rule!.url ? { url: w.rule!.url } : {}),
      ...(w.message ? { detail: w.message } : {}),
      location: w.location ? { ranges: lineRanges(w.location.line, w.endLine) } : {},
    })),
    sources: [{ filename: file, language: 'Dockerfile', data: Buffer.from(source).toString('base64') }],
    ...(error
      ? {
          buildError: {
            message: error.message,
            location: error.line ? { ranges: lineRanges(error.line, error.endLine) } : {},
          },
        }
      : {}),
  };
}

/** buildx's text: the count, then each warning (by line) with its excerpt; a build error after them. */
export function formatLintText(results: LintResults, source: string, file: string): string {
  const n = results.warnings.length;
  let out = '';
  if (n > 0) out += `Check complete, ${n === 1 ? '1 warning has' : `${n} warnings have`} been found!\n`;
  const sorted = [...results.warnings].sort(
    (a, b) => (a.location.ranges?.[0]?.start.line ?? 0) - (b.location.ranges?.[0]?.start.line ?? 0),
  );
  for (const w of sorted) {
    out += `\nWARNING: ${w.ruleName}${w.url ? ` - ${w.url}` : ''}\n${w.detail ?? ''}\n`;
    out += printSource(file, source, w.location.ranges ?? []);
  }
  if (results.buildError) {
    if (n > 0) out += '\n';
    out += `${results.buildError.message}\n${printSource(file, source, results.buildError.location.ranges ?? [])}`;
  } else if (n === 0) {
    out += 'Check complete, no warnings found.\n';
  }
  return out;
}

/** BuildKit's errdefs Source.Print: the lines with two (or four, for one line) of context, `>>>` on the ranges. */
export function printSource(file: string, source: string, ranges: readonly Range[]): string {
  if (ranges.length === 0) return '';
  const lines = source.split('\n');
  let start = Math.min(...ranges.map((r) => r.start.line));
  let end = Math.max(...ranges.map((r) => Math.max(r.end.line, r.start.line)));
  if (start > lines.length || start < 1) return '';
  end = Math.min(end, lines.length);
  const pad = end === start ? 4 : 2;
  const first = start;
  for (let p = 0; p < pad; p++) {
    if (start > 1) {
      start--;
      p++;
    }
    if (end !== lines.length) {
      end++;
      p++;
    }
  }
  const marked = (l: number): boolean =>
    ranges.some((r) => r.start.line <= l && Math.max(r.end.line, r.start.line) >= l);
  let out = `${file}:${first}\n--------------------\n`;
  for (let i = start; i <= end; i++)
    out += ` ${String(i).padStart(3)} | ${marked(i) ? '>>>' : '   '} ${lines[i - 1]}\n`;
  return `${out}--------------------\n`;
}

/** The one-line form a normal build lists at its end: `Rule: detail (line N)` (BuildKit's LintFormatShort). */
export function shortForm(w: Warning): string {
  if (!w.rule) return w.location ? `${w.location.file}:${w.location.line}: ${w.message}` : w.message;
  return `${w.rule.name}: ${w.message}${w.location && w.location.line > 0 ? ` (line ${w.location.line})` : ''}`;
}
