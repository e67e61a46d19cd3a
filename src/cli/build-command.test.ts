import { describe, expect, it } from 'vitest';
import { userErrorOfSync } from '../../test/helpers/user-error.js';
import { UsageError } from '../errors.js';
import { resolveProgress } from './build-command.js';

describe('resolveProgress', () => {
  it('takes --progress, else BUILDKIT_PROGRESS, else auto', () => {
    expect(resolveProgress({}, {})).toBe('auto');
    expect(resolveProgress({}, { BUILDKIT_PROGRESS: 'plain' })).toBe('plain');
    expect(resolveProgress({}, { BUILDKIT_PROGRESS: '' })).toBe('auto');
    expect(resolveProgress({ progress: 'json' }, { BUILDKIT_PROGRESS: 'plain' })).toBe('json');
    expect(resolveProgress({ progress: 'rawjson' }, {})).toBe('rawjson');
    expect(resolveProgress({ progress: 'quiet' }, {})).toBe('quiet');
  });

  it('-q is quiet, over BUILDKIT_PROGRESS and with --progress auto or quiet, as buildx', () => {
    expect(resolveProgress({ quiet: true }, {})).toBe('quiet');
    expect(resolveProgress({ quiet: true }, { BUILDKIT_PROGRESS: 'plain' })).toBe('quiet');
    expect(resolveProgress({ quiet: true, progress: 'auto' }, {})).toBe('quiet');
    expect(resolveProgress({ quiet: true, progress: 'quiet' }, {})).toBe('quiet');
    expect(userErrorOfSync(() => resolveProgress({ quiet: true, progress: 'plain' }, {})).message).toBe(
      'progress=plain and quiet cannot be used together',
    );
  });

  it('an unknown mode is a UserError naming where it came from and the modes', () => {
    const env = userErrorOfSync(() => resolveProgress({}, { BUILDKIT_PROGRESS: 'fancy' }));
    expect(env.message).toBe('BUILDKIT_PROGRESS "fancy" is not a progress mode');
    expect(env.hint).toBe('one of: auto, plain, tty, json, rawjson, quiet');
    expect(userErrorOfSync(() => resolveProgress({ progress: 'x' }, {})).message).toMatch(/^--progress "x"/);
  });

  it('a bad --progress (or one that clashes with -q) is a usage error; a bad BUILDKIT_PROGRESS is not', () => {
    expect(userErrorOfSync(() => resolveProgress({ progress: 'BOGUS' }, {}))).toBeInstanceOf(UsageError);
    expect(userErrorOfSync(() => resolveProgress({ quiet: true, progress: 'plain' }, {}))).toBeInstanceOf(UsageError);
    expect(userErrorOfSync(() => resolveProgress({}, { BUILDKIT_PROGRESS: 'BOGUS' }))).not.toBeInstanceOf(UsageError);
  });
});

describe('--call (buildx)', () => {
  it('reads NAME[,format=json]; build is an ordinary build', async () => {
    const { parseCall } = await import('./build-command.js');
    expect(parseCall('check')).toEqual({ name: 'check', format: 'text' });
    expect(parseCall('check,format=json')).toEqual({ name: 'check', format: 'json' });
    expect(parseCall('outline')).toEqual({ name: 'outline', format: 'text' });
    expect(parseCall('targets,format=json')).toEqual({ name: 'targets', format: 'json' });
    expect(parseCall('build')).toBeUndefined();
    expect(() => parseCall('nosuch')).toThrow(/unknown request "nosuch"/);
    expect(() => parseCall('check,fmt=json')).toThrow(/unknown option/);
  });
});
