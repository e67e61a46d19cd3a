import { describe, expect, it } from 'vitest';
import { DirectiveScanner, detectSyntax, findDirective, parseDirectives } from './directives.js';

describe('DirectiveScanner', () => {
  it('stops at the first line that is not a known directive', () => {
    const s = new DirectiveScanner();
    expect(s.parseLine('# Syntax = a b ')).toEqual({ name: 'syntax', value: 'a b', line: 1 });
    expect(s.parseLine('# unknown=1')).toBeUndefined();
    expect(s.finished).toBe(true);
    expect(s.parseLine('# escape=`')).toBeUndefined();
  });

  it('rejects a repeated directive', () => {
    const s = new DirectiveScanner();
    s.parseLine('#check=a');
    expect(() => s.parseLine('# CHECK=b')).toThrow('only one check parser directive can be used');
  });
});

describe('directive lookups', () => {
  it('parseDirectives reads only the leading block', () => {
    expect(parseDirectives('# escape=`\r\n\n# syntax=x\n').map((d) => d.name)).toEqual(['escape']);
  });

  it('detectSyntax accepts #, // and JSON; findDirective only #', () => {
    expect(detectSyntax('// syntax = img:1 opts\n')).toEqual({ ref: 'img:1', cmdline: 'img:1 opts', line: 1 });
    expect(detectSyntax('{"syntax":"j"}')).toEqual({ ref: 'j', cmdline: 'j', line: 0 });
    expect(findDirective('check', '//check=x\n')).toBeUndefined();
    expect(findDirective('check', '#!/x\n#check=error=true\n')).toEqual({
      ref: 'error=true',
      cmdline: 'error=true',
      line: 2,
    });
  });
});
