import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { IgnoreMatcher, parseDockerignore } from '../frontend/dockerignore.js';

export interface IgnorePredicates {
  isIgnored(rel: string): boolean;
  canSkipDir?(rel: string): boolean;
}

/**
 * `<Dockerfile>.dockerignore` beside the Dockerfile wins over `<context>/.dockerignore`, as in
 * BuildKit. No file: nothing is ignored.
 */
export async function loadDockerignore(contextDir: string, dockerfilePath: string | undefined): Promise<IgnorePredicates> {
  const candidates = [...(dockerfilePath ? [`${dockerfilePath}.dockerignore`] : []), join(contextDir, '.dockerignore')];
  for (const file of candidates) {
    let text: string;
    try {
      text = await readFile(file, 'utf8');
    } catch {
      continue;
    }
    const matcher = new IgnoreMatcher(parseDockerignore(text));
    return {
      isIgnored: (rel) => matcher.matches(rel),
      canSkipDir: (rel) => matcher.canSkipDir(rel),
    };
  }
  return { isIgnored: () => false };
}
