import { describe, expect, it } from 'vitest';
import { TransferLine } from './transfer-line.js';

function stream(isTTY: boolean) {
  let written = '';
  const write = (s: string): boolean => {
    written += s;
    return true;
  };
  const out = { isTTY, columns: 80, write } as unknown as NodeJS.WriteStream;
  return { out, text: () => written };
}

describe('TransferLine', () => {
  it('on a terminal: one line of bytes under the permanent lines, redrawn at most four times a second, cleared at the end', () => {
    const t = stream(true);
    let now = 0;
    const line = new TransferLine(t.out, 'Pushing', () => now);
    line.update('3f1c', 0, 20_000_000);
    now = 100;
    line.update('3f1c', 5_000_000, 20_000_000); // within the interval: not drawn
    now = 300;
    line.update('3f1c', 12_000_000, 20_000_000);
    line.end('3f1c');
    line.print('3f1c: Pushed');
    line.clear();
    expect(t.text()).toBe(
      '\rPushing 3f1c: 0B / 20.0MB\x1b[K\rPushing 3f1c: 12.0MB / 20.0MB\x1b[K\r\x1b[K3f1c: Pushed\n',
    );
  });

  it('elsewhere: only the permanent lines', () => {
    const t = stream(false);
    const line = new TransferLine(t.out, 'Pushing', () => 1000);
    line.update('3f1c', 5, 10);
    line.print('3f1c: Pushed');
    line.clear();
    expect(t.text()).toBe('3f1c: Pushed\n');
  });
});
