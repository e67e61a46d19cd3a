import { describe, expect, it } from 'vitest';
import { chompHeredocContent, heredocsFromLine, parseHeredoc } from './heredoc.js';

describe('parseHeredoc', () => {
  it('reads file descriptor, chomp and quoting', () => {
    expect(parseHeredoc('3<<-"EOT"')).toEqual({ name: 'EOT', fileDescriptor: 3, expand: false, chomp: true });
    expect(parseHeredoc('<<EOT')).toEqual({ name: 'EOT', fileDescriptor: 0, expand: true, chomp: false });
    // An escaped quote is part of the name and does not stop expansion.
    expect(parseHeredoc("<<a\\'b")).toMatchObject({ name: "a'b", expand: true });
  });

  it('is not fooled by redirections or here-strings', () => {
    expect(parseHeredoc('<<<EOT')).toBeUndefined();
    expect(parseHeredoc('<file')).toBeUndefined();
  });
});

describe('heredocsFromLine', () => {
  it('ignores quoted markers and keeps order', () => {
    expect(heredocsFromLine('RUN "<<A" <<B cat <<C').map((h) => h.name)).toEqual(['B', 'C']);
  });
});

describe('chompHeredocContent', () => {
  it('strips leading tabs only, on every line', () => {
    expect(chompHeredocContent('\t\ta\n \tb\n\tc\r\td')).toBe('a\n \tb\nc\r\td');
  });
});
