import { chmod, mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { UserError } from '../errors.js';
import { configKeyHost, dockerConfigCredentials, dockerConfigPath } from './docker-config.js';

let tmp: string;
let n = 0;
beforeAll(async () => {
  tmp = await mkdtemp(join(tmpdir(), 'tsbuild-docker-config-'));
});
afterAll(async () => rm(tmp, { recursive: true, force: true }));

async function configDir(config: unknown): Promise<string> {
  const dir = join(tmp, `c${n++}`);
  await mkdir(dir, { recursive: true });
  await writeFile(join(dir, 'config.json'), typeof config === 'string' ? config : JSON.stringify(config));
  return dir;
}

const b64 = (s: string) => Buffer.from(s).toString('base64');

describe('docker config credentials', () => {
  it('$DOCKER_CONFIG, else ~/.docker', () => {
    expect(dockerConfigPath({ DOCKER_CONFIG: '/x' })).toBe('/x/config.json');
    expect(dockerConfigPath({})).toMatch(/\.docker\/config\.json$/);
  });

  it('registry keys are compared as docker does (scheme and path ignored, Hub aliases)', () => {
    expect(configKeyHost('https://index.docker.io/v1/')).toBe('docker.io');
    expect(configKeyHost('http://reg.example:5000')).toBe('reg.example:5000');
    expect(configKeyHost('reg.example:5000/v2/')).toBe('reg.example:5000');
  });

  it('auths: base64 user:password (a password may hold colons), username/password fields, identitytoken', async () => {
    const dir = await configDir({
      auths: {
        'https://index.docker.io/v1/': { auth: b64('hubuser:pa:ss') },
        'reg.example:5000': { username: 'u', password: 'p' },
        'tok.example': { auth: b64('<token>:'), identitytoken: 'refresh-me' },
      },
    });
    const creds = dockerConfigCredentials({ DOCKER_CONFIG: dir });
    expect(await creds('docker.io')).toEqual({ username: 'hubuser', password: 'pa:ss' });
    expect(await creds('reg.example:5000')).toEqual({ username: 'u', password: 'p' });
    expect(await creds('tok.example')).toEqual({ username: '<token>', password: '', identityToken: 'refresh-me' });
    expect(await creds('other.example')).toBeUndefined();
  });

  it('no config file: no credentials; a broken one: a UserError naming it', async () => {
    expect(await dockerConfigCredentials({ DOCKER_CONFIG: join(tmp, 'none') })('docker.io')).toBeUndefined();
    const dir = await configDir('{not json');
    const err = await Promise.resolve(dockerConfigCredentials({ DOCKER_CONFIG: dir })('docker.io')).catch(
      (e: Error) => e,
    );
    expect(err).toBeInstanceOf(UserError);
    expect((err as Error).message).toBe(`the docker config ${join(dir, 'config.json')} is not valid JSON`);
  });

  it('credHelpers win over credsStore, which wins over auths; helpers get the server URL on stdin', async () => {
    const bin = join(tmp, `bin${n++}`);
    await mkdir(bin, { recursive: true });
    const helper = async (name: string, script: string) => {
      await writeFile(join(bin, `docker-credential-${name}`), `#!/bin/sh\n${script}\n`);
      await chmod(join(bin, `docker-credential-${name}`), 0o755);
    };
    await helper('echo', 'read s; printf \'{"Username":"from-helper","Secret":"%s"}\' "$s"');
    await helper('store', 'read s; printf \'{"Username":"from-store","Secret":"x"}\'');
    await helper('token', 'read s; printf \'{"Username":"<token>","Secret":"idtok"}\'');
    await helper('none', 'echo "credentials not found in native keychain"; exit 1');
    await helper('broken', 'echo "keychain is locked" >&2; exit 3');
    const dir = await configDir({
      credsStore: 'store',
      credHelpers: {
        'a.example': 'echo',
        'docker.io': 'echo',
        't.example': 'token',
        'n.example': 'none',
        'b.example': 'broken',
        'm.example': 'missing',
      },
      auths: { 'z.example': { auth: b64('z:z') } },
    });
    const creds = dockerConfigCredentials({ DOCKER_CONFIG: dir, PATH: `${bin}:${process.env.PATH}` });
    expect(await creds('a.example')).toEqual({ username: 'from-helper', password: 'a.example' });
    expect(await creds('docker.io')).toEqual({ username: 'from-helper', password: 'https://index.docker.io/v1/' });
    expect(await creds('z.example')).toEqual({ username: 'from-store', password: 'x' });
    expect(await creds('t.example')).toEqual({ username: '', password: '', identityToken: 'idtok' });
    expect(await creds('n.example')).toBeUndefined();
    const broken = await Promise.resolve(creds('b.example')).catch((e: Error) => e);
    expect((broken as Error).message).toBe(
      'the docker credential helper docker-credential-broken failed for b.example (exit 3): keychain is locked',
    );
    const missing = await Promise.resolve(creds('m.example')).catch((e: Error) => e);
    expect((missing as Error).message).toBe(
      'the docker credential helper docker-credential-missing (for m.example) cannot be run: not found on PATH',
    );
  });
});
