import { describe, expect, it } from 'vitest';
import { UserError } from '../errors.js';
import { parseSecrets, parseSsh } from './parse-secrets.js';

describe('parseSecrets', () => {
  it('reads src=, env= and a bare id (its own env var), like buildx', () => {
    const s = parseSecrets(['id=npmrc,src=/home/me/.npmrc', 'id=token,env=GH_TOKEN', 'id=API_KEY'], { API_KEY: 'k' });
    expect([...s]).toEqual([
      ['npmrc', { file: '/home/me/.npmrc' }],
      ['token', { env: 'GH_TOKEN' }],
      ['API_KEY', { env: 'API_KEY' }],
    ]);
  });
  it('rejects a missing id, a bare word and unknown keys', () => {
    expect(() => parseSecrets(['src=/x'])).toThrow(/id= is required/);
    expect(() => parseSecrets(['npmrc'])).toThrow(UserError);
    expect(() => parseSecrets(['id=a,sauce=/x'])).toThrow(/unknown key "sauce"/);
  });
});

describe('parseSecrets, type=', () => {
  it('type=env takes the variable from env=, src= or the id (buildx)', () => {
    const s = parseSecrets(['type=env,id=a,env=VAR_A', 'type=env,id=b,src=VAR_B', 'type=env,id=C'], {});
    expect([...s]).toEqual([
      ['a', { env: 'VAR_A' }],
      ['b', { env: 'VAR_B' }],
      ['C', { env: 'C' }],
    ]);
  });
  it('type=file reads src=; a bare id is the file of that name when no such variable is set', () => {
    const s = parseSecrets(['type=file,id=a,src=/x', 'id=ghost'], {});
    expect([...s]).toEqual([
      ['a', { file: '/x' }],
      ['ghost', { file: 'ghost' }],
    ]);
  });
  it('refuses another type', () => {
    expect(() => parseSecrets(['type=socket,id=a'], {})).toThrow(/unsupported secret type "socket"/);
  });
});

describe('parseSsh', () => {
  it('takes $SSH_AUTH_SOCK for a bare id and an explicit socket otherwise', () => {
    const s = parseSsh(['default', 'work=/run/agent.sock'], { SSH_AUTH_SOCK: '/tmp/agent.1' });
    expect([...s]).toEqual([
      ['default', '/tmp/agent.1'],
      ['work', '/run/agent.sock'],
    ]);
  });
  it('explains when there is no agent', () => {
    expect(() => parseSsh(['default'], {})).toThrow(/no agent socket/);
  });
});

describe('parseSecrets, CSV', () => {
  it('reads a quoted field holding a comma, as buildx does', () => {
    expect(parseSecrets(['id=k,"src=/tmp/a,b.txt"']).get('k')).toEqual({ file: '/tmp/a,b.txt' });
  });
});
