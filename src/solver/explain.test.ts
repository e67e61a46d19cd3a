import { describe, expect, it } from 'vitest';
import { describeCauses, explainMiss, type ExplainContext } from './explain.js';

const ctx = (over: Partial<ExplainContext> = {}): ExplainContext => ({
  inputNames: ['[build 2/4] COPY . /src', '[stage-1 3/3] RUN make'],
  buildArgs: new Set(['VERSION']),
  diffFiles: async () => ({ added: ['new.js'], removed: [], changed: ['src/mod07.js'] }),
  ...over,
});
const exec = (args: string[], env: string[]) => ({ type: 'exec', args, env, cwd: '/', user: '', network: 'host' });

describe('explainMiss', () => {
  it('names the parent step when only the input key changed', async () => {
    const c = await explainMiss(
      { op: exec(['make'], []), inputs: ['a'] },
      { op: exec(['make'], []), inputs: ['b'] },
      ctx(),
    );
    expect(c).toEqual([{ kind: 'parent', step: '[build 2/4] COPY . /src' }]);
    expect(describeCauses(c)).toBe('the parent step changed ([build 2/4] COPY . /src)');
  });

  it('tells a build arg from another variable, with both values', async () => {
    const c = await explainMiss(
      { op: exec(['make'], ['VERSION=1', 'MODE=a']), inputs: ['a'] },
      { op: exec(['make'], ['VERSION=2', 'MODE=b']), inputs: ['a'] },
      ctx(),
    );
    expect(c).toEqual([
      { kind: 'env', name: 'MODE', before: 'a', after: 'b' },
      { kind: 'build-arg', name: 'VERSION', before: '1', after: '2' },
    ]);
    expect(describeCauses(c)).toContain('build arg VERSION changed ("1" → "2")');
  });

  it('reports a changed command and other changed options', async () => {
    const c = await explainMiss(
      { op: exec(['make', 'a'], []), inputs: [] },
      { op: { ...exec(['make', 'b'], []), user: 'app' }, inputs: [] },
      ctx(),
    );
    expect(c).toEqual([
      { kind: 'command', before: 'make a', after: 'make b' },
      { kind: 'option', field: 'user' },
    ]);
  });

  it('lists the files that changed by path', async () => {
    const op = { type: 'copy', dest: '/src' };
    const c = await explainMiss(
      { op, inputs: ['a'], content: ['sha256:1'] },
      { op, inputs: ['a'], content: ['sha256:2'] },
      ctx(),
    );
    expect(c).toEqual([{ kind: 'files', added: ['new.js'], removed: [], changed: ['src/mod07.js'] }]);
    expect(describeCauses(c)).toBe('files changed (changed: src/mod07.js; added: new.js)');
  });

  it('says files changed even when the old list is gone', async () => {
    const op = { type: 'copy', dest: '/src' };
    const c = await explainMiss(
      { op, inputs: ['a'], content: ['sha256:1'] },
      { op, inputs: ['a'], content: ['sha256:2'] },
      ctx({ diffFiles: async () => undefined }),
    );
    expect(describeCauses(c)).toBe('the selected files changed');
  });

  it('names a changed COPY --from source step', async () => {
    const op = { type: 'copy', dest: '/out' };
    const c = await explainMiss({ op, inputs: ['a', 'x'] }, { op, inputs: ['a', 'y'] }, ctx());
    expect(c).toEqual([{ kind: 'source-step', step: '[stage-1 3/3] RUN make' }]);
  });

  it('shortens long path lists', async () => {
    const many = Array.from({ length: 12 }, (_, i) => `f${i}`);
    const op = { type: 'copy', dest: '/' };
    const c = await explainMiss(
      { op, inputs: [], content: ['sha256:1'] },
      { op, inputs: [], content: ['sha256:2'] },
      ctx({ diffFiles: async () => ({ added: [], removed: [], changed: many }) }),
    );
    expect(describeCauses(c)).toBe('files changed (changed: f0, f1, f2, f3, f4 and 7 more)');
  });
});
