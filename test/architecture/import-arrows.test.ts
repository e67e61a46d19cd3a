import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';

/**
 * DESIGN.md's module map as a test: imports between src/ folders run one way, downward in the
 * order of dependence below, and the folders of one level that import each other do so without
 * a cycle. Files at src/ itself (errors, csv, go-compat) are shared leaves importing no folder.
 */
const LEVEL: Record<string, number> = {
  cli: 0,
  pipeline: 1,
  frontend: 2,
  progress: 2,
  solver: 3,
  cache: 4,
  snapshot: 4,
  executor: 4,
  registry: 4,
  sources: 4,
  exporter: 4,
  store: 5,
  image: 5,
  process: 6,
};

const src = resolve(import.meta.dirname, '../../src');

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory()
      ? sourceFiles(join(dir, e.name))
      : e.name.endsWith('.ts') && !e.name.endsWith('.test.ts')
        ? [join(dir, e.name)]
        : [],
  );
}

/** `from -> to` for every import crossing a folder, with the files that make it. */
function folderArrows(): Map<string, string[]> {
  const arrows = new Map<string, string[]>();
  for (const file of sourceFiles(src)) {
    const from = relative(src, file).split('/');
    const fromFolder = from.length > 1 ? from[0]! : '';
    for (const m of readFileSync(file, 'utf8').matchAll(/(?:from|import\(?)\s*'(\.{1,2}\/[^']+)'/g)) {
      const to = relative(src, resolve(dirname(file), m[1]!)).split('/');
      const toFolder = to.length > 1 ? to[0]! : '';
      if (toFolder === fromFolder || toFolder === '') continue;
      const key = `${fromFolder || '(src)'} -> ${toFolder}`;
      arrows.set(key, [...(arrows.get(key) ?? []), relative(src, file)]);
    }
  }
  return arrows;
}

describe('import arrows between src/ folders', () => {
  const arrows = folderArrows();

  it('knows every folder', () => {
    const folders = readdirSync(src, { withFileTypes: true })
      .filter((e) => e.isDirectory())
      .map((e) => e.name);
    expect(folders.filter((f) => LEVEL[f] === undefined)).toEqual([]);
  });

  it('point downward or sideways, never up', () => {
    const upward = [...arrows.keys()].filter((k) => {
      const [from, , to] = k.split(' ');
      return from === '(src)' || LEVEL[from!]! > LEVEL[to!]!;
    });
    expect(upward.map((k) => `${k} (${arrows.get(k)!.join(', ')})`)).toEqual([]);
  });

  it('form no cycle', () => {
    const next = new Map<string, string[]>();
    for (const k of arrows.keys()) {
      const [from, , to] = k.split(' ') as [string, string, string];
      next.set(from, [...(next.get(from) ?? []), to]);
    }
    const cycles: string[] = [];
    const state = new Map<string, 'open' | 'done'>();
    const visit = (node: string, path: string[]): void => {
      if (state.get(node) === 'done') return;
      if (state.get(node) === 'open') {
        cycles.push([...path.slice(path.indexOf(node)), node].join(' -> '));
        return;
      }
      state.set(node, 'open');
      for (const to of next.get(node) ?? []) visit(to, [...path, node]);
      state.set(node, 'done');
    };
    for (const node of next.keys()) visit(node, []);
    expect(cycles).toEqual([]);
  });
});
