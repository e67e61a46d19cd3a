import { describe, expect, it } from 'vitest';
import { UserError } from '../errors.js';
import { parseRunMount } from './run-mounts.js';

const loc = { file: 'Dockerfile', line: 3, column: 1 };
const parse = (text: string, vars: Record<string, string> = {}) =>
  parseRunMount(text, (w) => w.replace(/\$(\w+)/g, (_, n: string) => vars[n] ?? ''), loc, 0);

describe('parseRunMount', () => {
  it('secret env=: without a target the secret is only the variable; with one, both (BuildKit)', () => {
    expect(parse('type=secret,id=pw,env=PW')).toMatchObject({ type: 'secret', id: 'pw', env: 'PW', target: '' });
    expect(parse('type=secret,id=pw,env=PW,target=/s')).toMatchObject({ env: 'PW', target: '/s' });
    expect(parse('type=secret,source=real,id=other')).toMatchObject({ id: 'real', target: '/run/secrets/real' });
    expect(() => parse('type=secret,id=pw,env=1X')).toThrow(/invalid env "1X"/);
  });
  it('cache from= and source=; from= takes no variable (BuildKit wording)', () => {
    expect(parse('type=cache,target=/c,from=seed,source=deps')).toMatchObject({ from: 'seed', source: '/deps' });
    expect(parse('type=cache,target=/c,source=/')).not.toHaveProperty('source');
    expect(() => parse('type=cache,target=/c,from=$X')).toThrow(/'from' doesn't support variable expansion/);
    expect(parse('from=a$,target=/c')).toMatchObject({ from: 'a$' });
  });
  it('a relative target of a bind, cache or tmpfs mount is under the WORKDIR; "/" is refused', () => {
    const inWorkdir = (text: string) => parseRunMount(text, (w) => w, loc, 0, '/work');
    expect(inWorkdir('type=tmpfs,target=rel')).toMatchObject({ target: '/work/rel' });
    expect(inWorkdir('type=cache,target=/abs')).toMatchObject({ target: '/abs' });
    expect(() => parse('type=tmpfs,target=/')).toThrow(/invalid mount target "\/"/);
  });
  it('bind is the default type, read-only, source defaulting to the root', () => {
    expect(parse('target=/src')).toEqual({ type: 'bind', target: '/src', source: '/', readonly: true });
    expect(parse('type=bind,src=app,dst=/a,rw,from=build')).toEqual({
      type: 'bind',
      target: '/a',
      source: 'app',
      readonly: false,
      from: 'build',
    });
  });
  it('cache: id defaults to the target; sharing, mode, uid, gid', () => {
    expect(parse('type=cache,target=/root/.cache')).toEqual({
      type: 'cache',
      target: '/root/.cache',
      id: '/root/.cache',
      sharing: 'shared',
      readonly: false,
      mode: 0o755,
      uid: 0,
      gid: 0,
    });
    expect(parse('type=cache,target=/c,id=go,sharing=locked,mode=0700,uid=1000,gid=1000')).toMatchObject({
      id: 'go',
      sharing: 'locked',
      mode: 0o700,
      uid: 1000,
      gid: 1000,
    });
  });
  it('tmpfs with a size, secret and ssh defaults', () => {
    expect(parse('type=tmpfs,target=/t,size=64m')).toEqual({ type: 'tmpfs', target: '/t', size: 64 * 1024 * 1024 });
    expect(parse('type=secret,id=npmrc')).toEqual({
      type: 'secret',
      id: 'npmrc',
      target: '/run/secrets/npmrc',
      required: false,
      mode: 0o400,
      uid: 0,
      gid: 0,
    });
    expect(parse('type=secret,target=/etc/key,required')).toMatchObject({
      id: 'key',
      target: '/etc/key',
      required: true,
    });
    expect(parse('type=ssh')).toMatchObject({ type: 'ssh', id: 'default', target: '/run/buildkit/ssh_agent.0' });
  });
  it('expands variables in values', () => {
    expect(parse('type=cache,target=$DIR,id=$ID', { DIR: '/cache', ID: 'x' })).toMatchObject({
      target: '/cache',
      id: 'x',
    });
  });
  it('errors carry the location and suggest the nearest name', () => {
    const err = (() => {
      try {
        parse('type=cahce,target=/x');
      } catch (e) {
        return e as UserError;
      }
      throw new Error('no error');
    })();
    expect(err).toBeInstanceOf(UserError);
    expect(err.location).toEqual(loc);
    expect(err.hint).toBe('did you mean type=cache?');
    expect(() => parse('type=cache')).toThrow(/a target is required/);
    expect(() => parse('type=cache,target=/x,sharing=sometimes')).toThrow(/invalid sharing/);
    expect(() => parse('type=tmpfs,target=/x,size=lots')).toThrow(/invalid size/);
  });
});

describe('parseRunMount: NUL bytes', () => {
  it('a NUL byte in a target, source or id is a UserError at the RUN', () => {
    for (const text of ['type=tmpfs,target=/a\0b', 'type=bind,source=a\0b,target=/m', 'type=cache,id=a\0b,target=/c']) {
      expect(() => parseRunMount(text, (w) => w, { file: 'Dockerfile', line: 3, column: 1 }, 0)).toThrow(UserError);
    }
  });
});
