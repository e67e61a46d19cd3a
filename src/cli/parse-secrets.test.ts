import { describe, expect, it } from 'vitest';
import { UserError } from '../errors.js';
import { parseSecrets, parseSsh } from './parse-secrets.js';

describe('parseSecrets', () => {
  it('reads src=, env= and a bare id (its own env var), like buildx', () => {
    const s = parseSecrets(['id=npmrc,src=/home/me/.npmrc', 'id=token,env=GH_TOKEN', 'id=API_KEY']);
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
