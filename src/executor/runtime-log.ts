import { readFileSync } from 'node:fs';

/**
 * The messages of the error and fatal entries of an OCI runtime's JSON log (runc's and crun's
 * `--log-format json`), in order; an entry without a message gives ''. A missing or unreadable log
 * has none.
 */
export function runtimeLogErrors(logFile: string): string[] {
  let text: string;
  try {
    text = readFileSync(logFile, 'utf8');
  } catch {
    return [];
  }
  const out: string[] = [];
  for (const line of text.split('\n')) {
    let entry: { level?: string; msg?: string } | null;
    try {
      entry = JSON.parse(line) as typeof entry;
    } catch {
      continue; // not JSON: a partial line
    }
    if (entry?.level === 'error' || entry?.level === 'fatal') out.push(entry.msg ?? '');
  }
  return out;
}
