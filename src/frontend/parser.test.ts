import { describe, expect, it } from 'vitest';
import { UserError } from '../errors.js';
import { parseDockerfile } from './parser.js';

const parse = (src: string) => parseDockerfile(src, 'Dockerfile');

function errorOf(src: string): UserError {
  try {
    parse(src);
  } catch (err) {
    if (err instanceof UserError) return err;
    throw err;
  }
  throw new Error('parsed without error');
}

describe('parseDockerfile: structure', () => {
  it('keeps keywords uppercased and as written', () => {
    const [ins] = parse('from alpine\n').instructions;
    expect(ins).toMatchObject({ keyword: 'FROM', writtenKeyword: 'from', args: ['alpine'] });
  });

  it('locates the keyword, and the excerpt spans the continued lines', () => {
    const df = parse('FROM a\n\n  RUN echo \\\n    hi\n');
    const run = df.instructions[1]!;
    expect(run.location).toEqual({ file: 'Dockerfile', line: 3, column: 3, excerpt: '  RUN echo \\\n    hi' });
    expect(run.endLine).toBe(4);
    expect(run.original).toBe('RUN echo     hi');
  });

  it('locates each flag, also on continuation lines', () => {
    const [, copy] = parse('FROM a\nCOPY --chown=1 \\\n  --from=b . /\n').instructions;
    expect(copy!.flags).toEqual([
      { name: 'chown', value: '1', location: { file: 'Dockerfile', line: 2, column: 6, excerpt: 'COPY --chown=1 \\' } },
      { name: 'from', value: 'b', location: { file: 'Dockerfile', line: 3, column: 3, excerpt: '  --from=b . /' } },
    ]);
  });

  it('unquotes flag values but keeps argument quotes', () => {
    const [ins] = parse('COPY --chown="a b" --link "x y" /d\n').instructions;
    expect(ins!.flags.map((f) => [f.name, f.value])).toEqual([
      ['chown', 'a b'],
      ['link', undefined],
    ]);
    expect(ins!.args).toEqual(['"x', 'y"', '/d']);
  });

  it('skips comments and blank lines inside a continuation, noting the blank ones at the last line', () => {
    const df = parse('RUN a \\\n# note\n\n  b\n');
    expect(df.instructions[0]!.args).toEqual(['a   b']);
    expect(df.emptyContinuations.map((e) => [e.location.line, e.instruction])).toEqual([[4, 'RUN a   b']]);
  });

  it('keeps the comments above each instruction as BuildKit does (an empty # starts afresh, directives left out)', () => {
    const df = parse('# check=skip=all\n# a one\nARG a\n# x\n#\n# b two\n\nARG b\nARG c\n');
    expect(df.instructions.map((i) => i.comments)).toEqual([['a one'], ['b two'], []]);
  });

  it('reads CRLF files and a BOM like LF files', () => {
    const df = parse('\uFEFFFROM a\r\nRUN x \\\r\n  y\r\n');
    expect(df.instructions.map((i) => i.args)).toEqual([['a'], ['x   y']]);
    expect(df.instructions[0]!.location.column).toBe(1);
  });

  it('nests ONBUILD triggers with their own location and flags', () => {
    const [ins] = parse('ONBUILD RUN --network=none make\n').instructions;
    expect(ins!.args).toEqual([]);
    expect(ins!.trigger).toMatchObject({ keyword: 'RUN', args: ['make'], original: 'RUN --network=none make' });
    expect(ins!.trigger!.location).toMatchObject({ line: 1, column: 9 });
    expect(ins!.trigger!.flags[0]!.location.column).toBe(13);
  });

  it("keeps unknown instructions, with BuildKit's single empty argument", () => {
    expect(parse('FROMM a\n').instructions[0]).toMatchObject({ keyword: 'FROMM', args: [''] });
  });
});

describe('parseDockerfile: directives and escape', () => {
  it('records syntax and check, and switches the escape character', () => {
    const df = parse('# syntax=docker/dockerfile:1\n# check=skip=all\n# escape=`\nRUN a `\n  b\n');
    expect(df.directives).toEqual({ escape: '`', syntax: 'docker/dockerfile:1', check: 'skip=all' });
    expect(df.instructions[0]!.args).toEqual(['a   b']);
  });

  it('ignores directives after the first other line', () => {
    const df = parse('# hello\n# escape=`\nRUN a \\\n  b\n');
    expect(df.directives.escape).toBe('\\');
    expect(df.instructions).toHaveLength(1);
  });

  it('rejects a bad escape character and a repeated directive, at their line', () => {
    expect(errorOf('# escape=x\nFROM a\n')).toMatchObject({ location: { line: 1 } });
    const dup = errorOf('# syntax=a\n# syntax=b\nFROM a\n');
    expect(dup.message).toBe('only one syntax parser directive can be used');
    expect(dup.location?.line).toBe(2);
  });
});

describe('parseDockerfile: heredocs', () => {
  it('reads several bodies in order and counts their lines', () => {
    const df = parse('COPY <<A <<B /d/\na\nA\nb\nB\nRUN x\n');
    expect(df.instructions[0]!.heredocs.map((h) => [h.name, h.content])).toEqual([
      ['A', 'a\n'],
      ['B', 'b\n'],
    ]);
    expect(df.instructions[0]!.endLine).toBe(5);
    expect(df.instructions[1]!.location.line).toBe(6);
  });

  it('keeps <<- bodies unchomped at this level but accepts a tab-indented terminator', () => {
    const [ins] = parse('RUN <<-EOT\n\techo\n\tEOT\n').instructions;
    expect(ins!.heredocs[0]).toMatchObject({ name: 'EOT', chomp: true, content: '\techo\n' });
  });

  it('turns CRLF body lines into LF', () => {
    const [ins] = parse('RUN <<EOT\r\na\r\nEOT\r\n').instructions;
    expect(ins!.heredocs[0]!.content).toBe('a\n');
  });

  it('gives ONBUILD heredocs to both the ONBUILD and its trigger', () => {
    const [ins] = parse('ONBUILD RUN <<EOT\nx\nEOT\n').instructions;
    expect(ins!.heredocs[0]!.content).toBe('x\n');
    expect(ins!.trigger!.heredocs).toEqual(ins!.heredocs);
  });

  it('finds no heredoc in exec form or in instructions that take none', () => {
    const df = parse('RUN ["<<EOF"]\nUSER <<EOF\nEOF\n');
    expect(df.instructions.map((i) => i.keyword)).toEqual(['RUN', 'USER', 'EOF']);
    expect(df.instructions.every((i) => i.heredocs.length === 0)).toBe(true);
  });

  it('reports an unterminated heredoc at its instruction', () => {
    const err = errorOf('FROM a\nRUN <<EOF\necho\n');
    expect(err.message).toBe('unterminated heredoc');
    expect(err.location).toMatchObject({ line: 2, column: 1 });
  });

  it('opens no heredoc when the line cannot be lexed, as BuildKit', () => {
    const df = parse("RUN <<'EOF\nx\n");
    expect(df.instructions.map((i) => [i.keyword, i.heredocs.length])).toEqual([
      ['RUN', 0],
      ['X', 0],
    ]);
  });
});

describe('parseDockerfile: errors', () => {
  it('rejects a file without instructions', () => {
    expect(errorOf('# only a comment\n').message).toBe('file with no instructions');
    expect(errorOf('').location).toMatchObject({ line: 1, column: 1 });
  });

  it('rejects non-string JSON arrays at the instruction', () => {
    const err = errorOf('FROM a\nCMD ["a", 1]\n');
    expect(err.message).toBe('when using JSON array syntax, arrays must be comprised of strings only');
    expect(err.location).toMatchObject({ line: 2, column: 1, excerpt: 'CMD ["a", 1]' });
  });

  it('rejects ENV without a value', () => {
    expect(errorOf('ENV PATH\n').message).toBe('ENV must have two arguments');
  });

  it('measures the line limit in UTF-8 bytes', () => {
    const ok = 'LABEL a=' + 'é'.repeat((65535 - 8) / 2 - 1);
    expect(() => parse(ok + '\n')).not.toThrow();
    expect(errorOf(ok + 'éé\n').location?.line).toBe(1);
  });
});
