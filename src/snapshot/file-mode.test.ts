import { describe, expect, it } from 'vitest';
import { UserError } from '../errors.js';
import { octalMode, parseModeChange } from './file-mode.js';

const apply = (spec: string, mode: number, isDir = false) => parseModeChange(spec).apply(mode, isDir);

describe('parseModeChange: octal', () => {
  it('sets the mode outright, special bits included, whatever the source mode', () => {
    expect(apply('755', 0o600)).toBe(0o755);
    expect(apply('0644', 0o4777, true)).toBe(0o644);
    expect(apply('4755', 0o644)).toBe(0o4755);
    expect(apply('0', 0o777)).toBe(0);
    expect(octalMode('0413')).toBe(0o413);
    expect(octalMode('u+x')).toBeUndefined();
  });

  it("refuses non-octal numbers and values above 07777 with BuildKit's message", () => {
    expect(() => parseModeChange('64a')).toThrow(
      "invalid chmod parameter: '64a'. it should be octal string and between 0 and 07777",
    );
    expect(() => parseModeChange('10000')).toThrow(/between 0 and 07777/);
    expect(() => parseModeChange('89')).toThrow(UserError);
  });
});

describe('parseModeChange: symbolic (chmod(1), relative to the source mode)', () => {
  it("BuildKit's own cases (testChmodNonOctal): files 0666, dirs 0124", () => {
    expect(apply('go-w', 0o666)).toBe(0o644);
    expect(apply('u=rw,g=r,o=r', 0o666)).toBe(0o644);
    expect(apply('a+X', 0o666)).toBe(0o666);
    expect(apply('go-w', 0o124, true)).toBe(0o104);
    expect(apply('u+rw,g+r,o-x,o+w', 0o124, true)).toBe(0o766);
    expect(apply('a+X', 0o124, true)).toBe(0o135);
  });

  it('who omitted means all classes, minus the umask 022 for + and =', () => {
    expect(apply('+x', 0o644)).toBe(0o755);
    expect(apply('+w', 0o444)).toBe(0o644);
    expect(apply('-w', 0o666)).toBe(0o466); // bits in the umask are left alone, as chmod(1) does
    expect(apply('=r', 0o777)).toBe(0o444);
  });

  it('X adds execute only to directories and to files something can already execute', () => {
    expect(apply('+X', 0o744)).toBe(0o755);
    expect(apply('+X', 0o644)).toBe(0o644);
    expect(apply('+X', 0o700, true)).toBe(0o711);
    expect(apply('=rw,+X', 0o755)).toBe(0o755);
    expect(apply('=rw,+X', 0o750)).toBe(0o755);
  });

  it('copies one class onto others', () => {
    expect(apply('g=u', 0o740)).toBe(0o770);
    expect(apply('go=u-w', 0o700)).toBe(0o755);
    expect(apply('u=rwx,go=u-w', 0)).toBe(0o755);
    expect(apply('o+g', 0o750)).toBe(0o755);
  });

  it('clears classes with an empty =', () => {
    expect(apply('go=', 0o755)).toBe(0o700);
    expect(apply('a=', 0o4755)).toBe(0);
  });

  it('s and t set setuid/setgid and sticky; plain = keeps them only when asked', () => {
    expect(apply('u+s', 0o755)).toBe(0o4755);
    expect(apply('g+s', 0o755, true)).toBe(0o2755);
    expect(apply('+t', 0o777, true)).toBe(0o1777);
    expect(apply('o+s', 0o755)).toBe(0o755); // set-id means nothing for "other"
    expect(apply('u=rwx', 0o4755)).toBe(0o755);
  });

  it('several operators for one class, several clauses', () => {
    expect(apply('u+r-w', 0o200)).toBe(0o400);
    expect(apply('u=rwx,g=rx,o=', 0o666)).toBe(0o750);
    expect(apply('a-w,u+w', 0o666)).toBe(0o644);
  });

  it('refuses malformed modes', () => {
    for (const bad of ['', 'u', 'u+x,', 'z+x', 'u*x', '+y', 'rwx']) {
      expect(() => parseModeChange(bad), bad).toThrow(UserError);
    }
  });
});
