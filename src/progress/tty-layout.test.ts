import { describe, expect, it } from 'vitest';
import { layoutFrame } from './tty-layout.js';

const done = (n: number, details: string[] = []) => ({ active: false, head: `done ${n}`, details });
const running = (n: number, details: string[] = []) => ({ active: true, head: `run ${n}`, details });

describe('layoutFrame', () => {
  it('shows everything that fits', () => {
    expect(layoutFrame([done(1, ['why']), running(2, ['a'])], 4)).toEqual(['done 1', 'why', 'run 2', 'a']);
  });

  it('collapses finished rows first, then drops the oldest of them', () => {
    const rows = [done(1, ['why 1']), done(2, ['why 2']), running(3, ['a', 'b'])];
    expect(layoutFrame(rows, 5)).toEqual(['done 1', 'done 2', 'run 3', 'a', 'b']);
    expect(layoutFrame(rows, 4)).toEqual(['done 2', 'run 3', 'a', 'b']);
  });

  it('then trims the longest output, oldest lines first, then drops the oldest running rows', () => {
    const rows = [running(1, ['a', 'b', 'c']), running(2, ['x'])];
    expect(layoutFrame(rows, 4)).toEqual(['run 1', 'c', 'run 2', 'x']);
    expect(layoutFrame(rows, 2)).toEqual(['run 1', 'run 2']);
    expect(layoutFrame(rows, 1)).toEqual(['run 2']);
  });
});
