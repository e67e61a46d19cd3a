import { describe, expect, it } from 'vitest';
import { OutputTail } from './output-tail.js';

describe('OutputTail', () => {
  it('keeps the last lines across chunks cut anywhere, the unfinished one included', () => {
    const tail = new OutputTail(3);
    tail.add(Buffer.from('one\ntw'));
    tail.add(Buffer.from('o\nthree\nfour\nfi'));
    expect(tail.lines()).toEqual(['three', 'four', 'fi']);
  });

  it('starts a new line after endLine()', () => {
    const tail = new OutputTail();
    tail.add(Buffer.from('no newline'));
    tail.endLine();
    tail.add(Buffer.from('runc: error\n'));
    expect(tail.lines()).toEqual(['no newline', 'runc: error']);
  });
});
