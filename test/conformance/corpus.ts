/**
 * Where BuildKit's conformance corpus lives (a sibling of the checkout, never copied into it) and
 * how the suites read it. When the corpus is absent the suites skip with one line of explanation.
 */
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

export const CORPUS = fileURLToPath(new URL('../../../shared/conformance/buildkit', import.meta.url));
export const corpusExists = existsSync(CORPUS);

/** Call at the top of each suite file: prints why the suite is skipped when there is no corpus. */
export function noteMissingCorpus(suite: string): void {
  if (!corpusExists) console.log(`[conformance] ${suite}: skipped, corpus not found at ${CORPUS}`);
}

export function corpusPath(rel: string): string {
  return `${CORPUS}/${rel}`;
}

export function readText(rel: string): string {
  return readFileSync(corpusPath(rel), 'utf8');
}

export function readJson<T>(rel: string): T {
  return JSON.parse(readText(rel)) as T;
}

export function listDirs(rel: string): string[] {
  if (!corpusExists) return [];
  return readdirSync(corpusPath(rel), { withFileTypes: true })
    .filter((d) => d.isDirectory())
    .map((d) => d.name)
    .sort();
}

/** JSON data for table-driven tests; an empty table when the corpus is missing. */
export function loadJson<T>(rel: string, empty: T): T {
  return corpusExists ? readJson<T>(rel) : empty;
}

/** The message of what `fn` throws, or undefined when it does not throw. */
export function thrownMessage(fn: () => unknown): string | undefined {
  try {
    fn();
  } catch (err) {
    return err instanceof Error ? err.message : String(err);
  }
  return undefined;
}
