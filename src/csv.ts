/** Thrown for a quote that is never closed; callers turn it into a UserError naming their flag. */
export class CsvQuoteError extends Error {
  constructor() {
    super('unterminated quote');
  }
}

/**
 * One CSV record as Go's encoding/csv reads it, which BuildKit and buildx use for `--mount` and
 * `--output`: `,` separates fields, a field may be `"quoted"` (so it can hold commas), `""` inside
 * quotes is a quote.
 */
export function splitCsv(s: string): string[] {
  const fields: string[] = [];
  let cur = '';
  let quoted = false;
  for (let i = 0; i < s.length; i++) {
    const c = s[i]!;
    if (quoted) {
      if (c === '"' && s[i + 1] === '"') {
        cur += '"';
        i++;
      } else if (c === '"') quoted = false;
      else cur += c;
    } else if (c === '"' && cur.trim() === '') {
      quoted = true;
      cur = '';
    } else if (c === ',') {
      fields.push(cur);
      cur = '';
    } else cur += c;
  }
  if (quoted) throw new CsvQuoteError();
  fields.push(cur);
  return fields;
}
