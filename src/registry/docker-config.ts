import { spawn } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { EnvironmentError, UserError } from '../errors.js';
import type { Credentials, CredentialsProvider } from './auth.js';

/**
 * Credentials from docker's client config, so `docker login` is all a user needs:
 * `$DOCKER_CONFIG/config.json` (default `~/.docker/config.json`), looked up as docker does —
 * `credHelpers[registry]`, else `credsStore`, else `auths[registry]` (`auth` is base64
 * `user:password`; `identitytoken` is an OAuth2 refresh token). Secrets stay in memory: nothing
 * here prints them, logs them or writes them anywhere.
 */

interface DockerConfigFile {
  auths?: Record<string, { auth?: string; username?: string; password?: string; identitytoken?: string }>;
  credsStore?: string;
  credHelpers?: Record<string, string>;
}

/** The key Docker Hub's credentials are stored under, whatever name the image used. */
const DOCKER_HUB_KEY = 'https://index.docker.io/v1/';

export function dockerConfigPath(env: NodeJS.ProcessEnv = process.env): string {
  return join(env.DOCKER_CONFIG || join(homedir(), '.docker'), 'config.json');
}

export function dockerConfigCredentials(env: NodeJS.ProcessEnv = process.env): CredentialsProvider {
  const path = dockerConfigPath(env);
  let config: Promise<DockerConfigFile | undefined> | undefined;
  const found = new Map<string, Promise<Credentials | undefined>>();
  return (registry) => {
    config ??= readConfig(path);
    let hit = found.get(registry);
    if (!hit) {
      hit = config.then((c) => (c ? lookup(c, registry, path, env) : undefined));
      found.set(registry, hit);
    }
    return hit;
  };
}

async function readConfig(path: string): Promise<DockerConfigFile | undefined> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw new UserError(`cannot read the docker config ${path}: ${(err as Error).message}`);
  }
  try {
    const doc = JSON.parse(text) as unknown;
    if (typeof doc !== 'object' || doc === null || Array.isArray(doc)) throw new Error('not an object');
    return doc as DockerConfigFile;
  } catch {
    throw new UserError(`the docker config ${path} is not valid JSON`, {
      hint: 'fix or remove it; docker login rewrites it',
    });
  }
}

/** docker's ConvertToHostname: `https://host:5000/v1/` and `host:5000` name the same registry. */
export function configKeyHost(key: string): string {
  let host = key.replace(/^https?:\/\//, '');
  host = host.split('/')[0]!;
  return host === 'index.docker.io' || host === 'registry-1.docker.io' ? 'docker.io' : host;
}

async function lookup(
  config: DockerConfigFile,
  registry: string,
  path: string,
  env: NodeJS.ProcessEnv,
): Promise<Credentials | undefined> {
  const serverUrl = registry === 'docker.io' ? DOCKER_HUB_KEY : registry;
  const helper =
    Object.entries(config.credHelpers ?? {}).find(([k]) => configKeyHost(k) === registry)?.[1] ?? config.credsStore;
  if (helper) return runHelper(helper, serverUrl, registry, env);
  const entry = Object.entries(config.auths ?? {}).find(([k]) => configKeyHost(k) === registry)?.[1];
  if (!entry) return undefined;
  let username = entry.username ?? '';
  let password = entry.password ?? '';
  if (entry.auth) {
    const decoded = Buffer.from(entry.auth, 'base64').toString('utf8');
    const colon = decoded.indexOf(':');
    if (colon < 0)
      throw new UserError(`the docker config ${path} has an invalid "auth" entry for ${registry}`, {
        hint: `log in again: docker login ${registry}`,
      });
    username = decoded.slice(0, colon);
    password = decoded.slice(colon + 1);
  }
  if (entry.identitytoken) return { username, password, identityToken: entry.identitytoken };
  return username || password ? { username, password } : undefined;
}

/**
 * docker's credential-helper protocol: `docker-credential-NAME get`, the server URL on stdin,
 * `{"Username","Secret"}` on stdout; "credentials not found" is not an error. A username of
 * `<token>` means the secret is an identity token.
 */
export async function runHelper(
  name: string,
  serverUrl: string,
  registry: string,
  env: NodeJS.ProcessEnv = process.env,
): Promise<Credentials | undefined> {
  const program = `docker-credential-${name}`;
  const { code, stdout, stderr, spawnError } = await new Promise<{
    code: number | null;
    stdout: string;
    stderr: string;
    spawnError?: NodeJS.ErrnoException;
  }>((resolve) => {
    const child = spawn(program, ['get'], { stdio: ['pipe', 'pipe', 'pipe'], env });
    let out = '';
    let err = '';
    child.stdout.on('data', (c: Buffer) => (out += c.toString()));
    child.stderr.on('data', (c: Buffer) => (err += c.toString()));
    child.on('error', (e: NodeJS.ErrnoException) => resolve({ code: null, stdout: '', stderr: '', spawnError: e }));
    child.on('close', (c) => resolve({ code: c, stdout: out, stderr: err }));
    child.stdin.on('error', () => {}); // a helper that exits without reading stdin
    child.stdin.end(serverUrl);
  });
  if (spawnError) {
    throw new EnvironmentError(
      `the docker credential helper ${program} (for ${registry}) cannot be run: ${spawnError.code === 'ENOENT' ? 'not found on PATH' : spawnError.message}`,
      {
        hint: 'install it, or remove credsStore/credHelpers from your docker config',
        cause: spawnError,
      },
    );
  }
  if (code !== 0) {
    if (/credentials not found/i.test(stdout + stderr)) return undefined;
    // Only the helper's own words: they never contain the secret it failed to give.
    throw new UserError(
      `the docker credential helper ${program} failed for ${registry} (exit ${code}): ${(stdout || stderr).trim().split('\n')[0]}`,
    );
  }
  let answer: { Username?: unknown; Secret?: unknown };
  try {
    answer = JSON.parse(stdout) as typeof answer;
  } catch {
    throw new UserError(`the docker credential helper ${program} gave an unreadable answer for ${registry}`);
  }
  const username = typeof answer.Username === 'string' ? answer.Username : '';
  const secret = typeof answer.Secret === 'string' ? answer.Secret : '';
  if (!secret) return undefined;
  if (username === '<token>') return { username: '', password: '', identityToken: secret };
  return { username, password: secret };
}
