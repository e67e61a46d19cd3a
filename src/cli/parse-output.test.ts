import { describe, expect, it } from 'vitest';
import { UserError } from '../errors.js';
import { parseBuildArgs, parseOutput } from './parse-output.js';

function userErrorOf(fn: () => unknown): UserError {
  try {
    fn();
  } catch (err) {
    if (err instanceof UserError) return err;
    throw err;
  }
  throw new Error('parsed without error');
}

describe('parseOutput', () => {
  it('parses type and dest', () => {
    expect(parseOutput('type=oci,dest=app.tar')).toEqual({ type: 'oci', dest: 'app.tar' });
    expect(parseOutput('type=docker,dest=-')).toEqual({ type: 'docker', dest: '-' });
  });

  it('takes the fields in any order, trims them and lowercases keys', () => {
    expect(parseOutput('dest=/tmp/out.tar,type=oci')).toEqual({ type: 'oci', dest: '/tmp/out.tar' });
    expect(parseOutput(' Type = docker , DEST = x.tar ')).toEqual({ type: 'docker', dest: 'x.tar' });
  });

  it('keeps = inside a value', () => {
    expect(parseOutput('type=oci,dest=a=b.tar')).toEqual({ type: 'oci', dest: 'a=b.tar' });
  });

  it('accepts name=', () => {
    expect(parseOutput('type=docker,dest=x.tar,name=app:1')).toMatchObject({ type: 'docker', dest: 'x.tar' });
  });

  it('a field without = is a UserError', () => {
    const err = userErrorOf(() => parseOutput('type=oci,app.tar'));
    expect(err.message).toBe('invalid --output "type=oci,app.tar": "app.tar" is not key=value');
    expect(err.hint).toMatch(/type=oci,dest=/);
  });

  it('an unsupported or missing type is a UserError', () => {
    expect(userErrorOf(() => parseOutput('type=local,dest=out')).message).toBe('unsupported output type "local" in --output "type=local,dest=out"');
    expect(userErrorOf(() => parseOutput('dest=out.tar')).message).toBe('unsupported output type "" in --output "dest=out.tar"');
  });

  it('a missing or empty dest is a UserError', () => {
    expect(userErrorOf(() => parseOutput('type=oci')).message).toMatch(/needs dest=FILE/);
    expect(userErrorOf(() => parseOutput('type=oci,dest=')).message).toMatch(/needs dest=FILE/);
  });

  it('an unknown option is a UserError naming it', () => {
    const err = userErrorOf(() => parseOutput('type=oci,dest=a.tar,compression=zstd'));
    expect(err.message).toBe('unknown option "compression" in --output "type=oci,dest=a.tar,compression=zstd"');
  });

  // BUG (parse-output.ts): the doc says "CSV of key=value" as in buildx (encoding/csv), but the spec is
  // split on every comma, so a quoted field holding a comma cannot be written.
  it.fails('a quoted CSV field may hold a comma, as in buildx', () => {
    expect(parseOutput('type=oci,"dest=a,b.tar"')).toEqual({ type: 'oci', dest: 'a,b.tar' });
  });
});

describe('parseBuildArgs', () => {
  it('K=V sets K, the value kept whole', () => {
    const args = parseBuildArgs(['A=1', 'B=x=y', 'C=', 'D= spaced '], {});
    expect([...args]).toEqual([['A', '1'], ['B', 'x=y'], ['C', ''], ['D', ' spaced ']]);
  });

  it('K alone takes the value from the environment', () => {
    expect([...parseBuildArgs(['HOME_DIR'], { HOME_DIR: '/home/me' })]).toEqual([['HOME_DIR', '/home/me']]);
    expect([...parseBuildArgs(['EMPTY'], { EMPTY: '' })]).toEqual([['EMPTY', '']]);
  });

  it('K alone is skipped when unset in the environment', () => {
    expect(parseBuildArgs(['UNSET_VAR'], { OTHER: '1' }).size).toBe(0);
  });

  it('a later value for the same name wins', () => {
    expect(parseBuildArgs(['A=1', 'A=2'], {}).get('A')).toBe('2');
  });

  it('=V (no name) is a UserError', () => {
    expect(userErrorOf(() => parseBuildArgs(['=value'], {})).message).toBe('invalid --build-arg "=value": the name is empty');
  });
});
