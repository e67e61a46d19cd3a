import { describe, expect, it } from 'vitest';
import { UserError } from '../errors.js';
import { ShellLex } from './shell-lexer.js';

const env = (vars: Record<string, string>) => (name: string) => (Object.hasOwn(vars, name) ? vars[name] : undefined);
const lex = new ShellLex('\\');

describe('ShellLex.processWord', () => {
  it('removes quotes and expands variables, without splitting', () => {
    expect(lex.processWord('"$A b" \'$A\'', env({ A: 'x  y' }))).toBe('x  y b $A');
  });

  it('supports every substitution form', () => {
    const vars = env({ V: 'foo/bar/baz.tar.gz', E: '' });
    const cases: [string, string][] = [
      ['${V#*/}', 'bar/baz.tar.gz'],
      ['${V##*/}', 'baz.tar.gz'],
      ['${V%.*}', 'foo/bar/baz.tar'],
      ['${V%%.*}', 'foo/bar/baz'],
      ['${V/bar/qux}', 'foo/qux/baz.tar.gz'],
      ['${V//a/A}', 'foo/bAr/bAz.tAr.gz'],
      ['${E:-d}', 'd'],
      ['${E-d}', ''],
      ['${E:+s}', ''],
      ['${E+s}', 's'],
      ['${U:-d}', 'd'],
    ];
    for (const [word, want] of cases) expect(lex.processWord(word, vars), word).toBe(want);
  });

  it('treats the replacement of ${v//p/r} as a Go template, and of ${v/p/r} literally', () => {
    // An unescaped `$0` is expanded by the lexer first (to the unset `$0`); `\$0` reaches the template.
    expect(lex.processWord('${V//o/<$0>}', env({ V: 'foo' }))).toBe('f<><>');
    expect(lex.processWord('${V//o/<\\$0>}', env({ V: 'foo' }))).toBe('f<\\o><\\o>');
    expect(lex.processWord('${V/o/<\\$0>}', env({ V: 'foo' }))).toBe('f<\\$0>o');
  });

  it("fails with BuildKit's messages as UserErrors", () => {
    const fail = (word: string, vars = env({})) => {
      try {
        lex.processWord(word, vars);
      } catch (err) {
        expect(err).toBeInstanceOf(UserError);
        return (err as Error).message;
      }
      return 'no error';
    };
    expect(fail('${X:?must be set}')).toBe('failed to process "${X:?must be set}": X: must be set');
    expect(fail('${X?}')).toBe('failed to process "${X?}": X: is not allowed to be unset');
    expect(fail('${X:?}', env({ X: '' }))).toBe('failed to process "${X:?}": X: is not allowed to be empty');
    expect(fail('${}')).toContain('bad substitution');
    expect(fail('${X')).toContain("missing '}'");
    expect(fail('${X:#p}')).toContain('unsupported modifier (:#)');
    expect(fail('"abc')).toContain('matching double-quote');
    expect(fail('${X#a\\b}', env({ X: 'ab' }))).toContain("invalid escape '\\b'");
  });

  it('uses the configured escape character', () => {
    const backtick = new ShellLex('`');
    expect(backtick.processWord('a`$b\\c', env({}))).toBe('a$b\\c');
  });
});

describe('ShellLex.processWords', () => {
  it('splits unquoted expansions but not quoted ones', () => {
    expect(lex.processWords('a $V "$V"', env({ V: '1 2' }))).toEqual(['a', '1', '2', '1 2']);
  });

  it('keeps `<<` and the blanks after it in one word, as heredoc detection needs', () => {
    expect(lex.processWords('cat <<  EOF > f', env({}))).toEqual(['cat', '<<  EOF', '>', 'f']);
  });
});

describe('ShellLex options', () => {
  it('rawQuotes and rawEscapes keep the source characters', () => {
    const raw = new ShellLex('\\', { rawQuotes: true, rawEscapes: true });
    expect(raw.processWord(`'a' "b" \\c`, env({}))).toBe(`'a' "b" \\c`);
  });

  it('skipUnsetEnv leaves unknown references alone', () => {
    const keep = new ShellLex('\\', { skipUnsetEnv: true });
    expect(keep.processWord('$A ${B} ${C:-x} ${D/a/b}', env({ A: '1' }))).toBe('1 ${B} ${C:-x} ${D/a/b}');
  });

  it('skipProcessQuotes expands inside quotes and keeps them (heredoc bodies)', () => {
    const body = new ShellLex('\\', { skipProcessQuotes: true });
    expect(body.processWord(`echo '$A' "$A"`, env({ A: 'x' }))).toBe(`echo 'x' "x"`);
  });
});

describe('ShellLex.processWordWithMatches', () => {
  it('reports set (even empty) and unset references', () => {
    const got = lex.processWordWithMatches('$A${B:-x}$C', env({ A: 'a', B: '' }));
    expect(got.result).toBe('ax');
    expect([...got.matched].sort()).toEqual(['A', 'B']);
    expect([...got.unmatched]).toEqual(['C']);
  });
});
