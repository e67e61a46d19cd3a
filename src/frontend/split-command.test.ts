import { describe, expect, it } from 'vitest';
import { splitCommand } from './split-command.js';

describe('splitCommand', () => {
  it('separates keyword, flags and arguments, with offsets into the line', () => {
    const line = '  COPY --from=a  --chown="u g" src /d ';
    const s = splitCommand(line);
    expect(s).toMatchObject({ keyword: 'COPY', keywordOffset: 2, args: 'src /d' });
    expect(s.flags).toEqual([
      { text: '--from=a', offset: 7 },
      { text: '--chown=u g', offset: 17 },
    ]);
    expect(line.slice(s.argsOffset)).toMatch(/^src \/d/);
  });

  it('stops at `--` and at the first word that is not a flag', () => {
    expect(splitCommand('COPY --link -- --weird /d')).toMatchObject({
      flags: [{ text: '--link' }],
      args: '--weird /d',
    });
    expect(splitCommand('RUN echo --not-a-flag')).toMatchObject({ flags: [], args: 'echo --not-a-flag' });
    expect(splitCommand('CMD --x [ "a" ]').args).toBe('[ "a" ]');
  });

  it('handles a keyword alone', () => {
    expect(splitCommand('HEALTHCHECK')).toMatchObject({ keyword: 'HEALTHCHECK', flags: [], args: '' });
  });
});
