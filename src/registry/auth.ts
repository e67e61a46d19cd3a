import { EnvironmentError, UserError } from '../errors.js';
import type { HttpClient, HttpRequest } from './http.js';
import { TIMEOUTS_ENV } from './limits.js';
import { USER_AGENT, backoff, describeCause, isSlow, isTransient, sleep } from './transport.js';

/**
 * Registry authentication as docker does it: try anonymously, and on 401 answer the
 * WWW-Authenticate challenge — Basic with credentials, or Bearer by fetching a token for the
 * repository scope from the realm the registry names (with credentials if there are any, so
 * anonymous pulls from Docker Hub work without a login).
 */

export interface Credentials {
  username: string;
  password: string;
  /**
   * An OAuth2 refresh token (`identitytoken` in docker's config.json, or a credential helper's
   * answer with username `<token>`): exchanged at the token service instead of a password.
   */
  identityToken?: string;
}

/** Looks up credentials for a registry by its name as in references (`docker.io`, `ghcr.io`, `localhost:5000`). */
export type CredentialsProvider = (registry: string) => Promise<Credentials | undefined> | Credentials | undefined;

export interface Challenge {
  scheme: string;
  params: Record<string, string>;
}

/**
 * Parses `Bearer realm="…",service="…",scope="repository:a:pull,push"`, and several challenges in
 * one header (which is how fetch joins repeated WWW-Authenticate headers).
 */
export function parseWwwAuthenticate(header: string): Challenge[] {
  const challenges: Challenge[] = [];
  let i = 0;
  const skip = (re: RegExp) => {
    while (i < header.length && re.test(header[i]!)) i++;
  };
  const token = () => {
    const start = i;
    while (i < header.length && /[!#$%&'*+\-.^_`|~0-9A-Za-z/]/.test(header[i]!)) i++;
    return header.slice(start, i);
  };
  while (i < header.length) {
    skip(/[\s,]/);
    const scheme = token();
    if (!scheme) {
      i++;
      continue;
    }
    const challenge: Challenge = { scheme: scheme.toLowerCase(), params: {} };
    challenges.push(challenge);
    for (;;) {
      skip(/[\s,]/);
      const save = i;
      const key = token();
      skip(/\s/);
      if (!key || header[i] !== '=') {
        // not `key=`: the next challenge's scheme (or a token68, which registries do not use)
        i = save;
        break;
      }
      i++;
      skip(/\s/);
      let value = '';
      if (header[i] === '"') {
        i++;
        while (i < header.length && header[i] !== '"') {
          if (header[i] === '\\' && i + 1 < header.length) i++;
          value += header[i];
          i++;
        }
        i++;
      } else {
        value = token();
      }
      challenge.params[key.toLowerCase()] = value;
    }
  }
  return challenges;
}

interface CachedAuth {
  value: string;
  expires: number;
}

export class RegistryAuth {
  private readonly cache = new Map<string, CachedAuth>();

  constructor(
    private readonly http: HttpClient,
    private readonly credentials?: CredentialsProvider,
    /** Tries per token request when the network fails or the token service is too slow. */
    private readonly attempts = 3,
  ) {}

  /** The Authorization header already earned for `host` and these scopes, if any. */
  cached(host: string, scopes: string[]): string | undefined {
    const now = Date.now();
    for (const key of [`${host} ${scopes.join(' ')}`, host]) {
      const hit = this.cache.get(key);
      if (hit && hit.expires > now) return hit.value;
    }
    return undefined;
  }

  /**
   * Answers a 401 from `host`. Returns the Authorization header to retry with, or undefined when
   * the challenge cannot be met (e.g. Basic without credentials), so the caller reports the 401.
   */
  async answer(
    registry: string,
    host: string,
    scopes: string[],
    header: string | undefined,
    signal?: AbortSignal,
  ): Promise<string | undefined> {
    if (!header) return undefined;
    const challenges = parseWwwAuthenticate(header);
    const creds = await this.credentials?.(registry);
    const bearer = challenges.find((c) => c.scheme === 'bearer');
    if (bearer) {
      const { token, expiresIn } = await fetchToken(this.http, registry, bearer, scopes, creds, signal, this.attempts);
      const value = `Bearer ${token}`;
      this.cache.set(`${host} ${scopes.join(' ')}`, {
        value,
        expires: Date.now() + Math.max(expiresIn - 10, 1) * 1000,
      });
      return value;
    }
    if (challenges.some((c) => c.scheme === 'basic') && creds) {
      const value = `Basic ${Buffer.from(`${creds.username}:${creds.password}`).toString('base64')}`;
      this.cache.set(host, { value, expires: Infinity });
      return value;
    }
    return undefined;
  }
}

async function fetchToken(
  http: HttpClient,
  registry: string,
  challenge: Challenge,
  scopes: string[],
  creds: Credentials | undefined,
  signal: AbortSignal | undefined,
  attempts: number,
): Promise<{ token: string; expiresIn: number }> {
  const realm = challenge.params.realm;
  let url: URL;
  try {
    url = new URL(realm ?? '');
    if (url.protocol !== 'https:' && url.protocol !== 'http:') throw new Error('bad protocol');
  } catch {
    throw new UserError(`registry ${registry} asked for a token from an invalid realm ${JSON.stringify(realm)}`);
  }
  // The registry may name a wider scope than ours (e.g. for a cross-repository mount); ask for both.
  const wanted = [...scopes];
  const theirs = challenge.params.scope;
  if (theirs && !wanted.includes(theirs)) wanted.push(theirs);

  const headers: Record<string, string> = { 'user-agent': USER_AGENT };
  let request: HttpRequest;
  if (creds?.identityToken) {
    // The distribution token spec's OAuth2 flow: a refresh token is POSTed, never sent as Basic.
    const form = new URLSearchParams({
      grant_type: 'refresh_token',
      refresh_token: creds.identityToken,
      client_id: 'tsbuild',
      access_type: 'offline',
    });
    if (challenge.params.service) form.set('service', challenge.params.service);
    form.set('scope', wanted.join(' '));
    headers['content-type'] = 'application/x-www-form-urlencoded';
    request = { method: 'POST', url, headers, body: Buffer.from(form.toString()), ...(signal ? { signal } : {}) };
  } else {
    if (challenge.params.service) url.searchParams.set('service', challenge.params.service);
    for (const s of wanted) url.searchParams.append('scope', s);
    if (creds) headers.authorization = `Basic ${Buffer.from(`${creds.username}:${creds.password}`).toString('base64')}`;
    request = { method: 'GET', url, headers, ...(signal ? { signal } : {}) };
  }
  let text: string;
  for (let attempt = 1; ; attempt++) {
    try {
      const res = await http.request(request);
      if (res.status === 401 || res.status === 403) {
        res.discard();
        throw new UserError(
          `authentication to registry ${registry} failed: the token service ${url.host} refused ${creds ? 'the credentials' : 'anonymous access'}`,
          {
            hint: creds
              ? 'check the credentials in your docker config (docker login)'
              : 'log in first (docker login writes ~/.docker/config.json, which tsbuild reads)',
          },
        );
      }
      if (res.status < 200 || res.status > 299) {
        res.discard();
        throw new UserError(
          `the token service ${url.host} of registry ${registry} answered ${res.status} ${res.statusText}`,
        );
      }
      text = await res.text();
      break;
    } catch (err) {
      if (signal?.aborted || err instanceof UserError) throw err;
      if (isTransient(err) && attempt < attempts) {
        await sleep(backoff(attempt), signal);
        continue;
      }
      if (isSlow(err)) {
        throw new EnvironmentError(
          `the token service ${url.host} of registry ${registry} is too slow: ${describeCause(err)}`,
          {
            cause: err,
            hint: `try again later, or allow more time with ${TIMEOUTS_ENV}`,
          },
        );
      }
      throw new UserError(`cannot reach the token service ${url.host} of registry ${registry}: ${describeCause(err)}`, {
        cause: err,
      });
    }
  }
  let body: { token?: unknown; access_token?: unknown; expires_in?: unknown };
  try {
    body = JSON.parse(text) as typeof body;
  } catch {
    throw new UserError(`the token service ${url.host} of registry ${registry} sent an unreadable answer`);
  }
  const token = typeof body.token === 'string' && body.token ? body.token : body.access_token;
  if (typeof token !== 'string' || !token)
    throw new UserError(`the token service ${url.host} of registry ${registry} sent no token`);
  // The distribution token spec: a token without expires_in lasts at least 60 seconds.
  const expiresIn = typeof body.expires_in === 'number' && body.expires_in > 0 ? body.expires_in : 60;
  return { token, expiresIn };
}
