/**
 * A token server implementing the distribution token spec, for a docker-registry configured
 * with `auth: token:`. It answers GET /token?service=…&scope=… (Basic credentials optional) and
 * the OAuth2 POST /token (password or refresh_token grant), and signs RS256 JWTs whose `x5c`
 * header carries a self-signed certificate the registry trusts through `rootcertbundle`.
 *
 * Known users get every action they ask for; anonymous clients get `pull` when `anonymousPull`.
 * Every request is kept in `requests` (scopes, whether credentials came) for assertions.
 */
import { execFile } from 'node:child_process';
import { createPrivateKey, randomBytes, sign, X509Certificate } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

export interface TokenRequest {
  method: string;
  scopes: string[];
  user?: string;
  grant?: string;
}

export interface TokenServer {
  realm: string;
  service: string;
  issuer: string;
  certFile: string;
  /** A refresh token (docker's identitytoken) the server accepts for the known user. */
  refreshToken: string;
  requests: TokenRequest[];
  stop(): Promise<void>;
}

export async function startTokenServer(
  dir: string,
  opts: { users: Record<string, string>; anonymousPull: boolean },
): Promise<TokenServer> {
  const keyFile = join(dir, 'token.key');
  const certFile = join(dir, 'token.pem');
  await run('openssl', [
    'req',
    '-x509',
    '-newkey',
    'rsa:2048',
    '-nodes',
    '-keyout',
    keyFile,
    '-out',
    certFile,
    '-days',
    '2',
    '-subj',
    '/CN=tsbuild test token signer',
  ]);
  const key = createPrivateKey(await readFile(keyFile));
  const certDer = new X509Certificate(await readFile(certFile)).raw.toString('base64');
  const service = 'tsbuild-test-registry';
  const issuer = 'tsbuild-test-token-issuer';
  const refreshToken = randomBytes(16).toString('hex');
  const requests: TokenRequest[] = [];

  const jwt = (sub: string, access: { type: string; name: string; actions: string[] }[]): string => {
    const now = Math.floor(Date.now() / 1000);
    const header = { typ: 'JWT', alg: 'RS256', x5c: [certDer] };
    const claims = {
      iss: issuer,
      sub,
      aud: service,
      exp: now + 300,
      nbf: now - 10,
      iat: now,
      jti: randomBytes(8).toString('hex'),
      access,
    };
    const enc = (o: unknown) => Buffer.from(JSON.stringify(o)).toString('base64url');
    const signing = `${enc(header)}.${enc(claims)}`;
    return `${signing}.${sign('sha256', Buffer.from(signing), key).toString('base64url')}`;
  };

  const grant = (user: string | undefined, scopes: string[]) =>
    scopes.flatMap((s) => {
      const [type, name, actions] = [
        s.slice(0, s.indexOf(':')),
        s.slice(s.indexOf(':') + 1, s.lastIndexOf(':')),
        s.slice(s.lastIndexOf(':') + 1),
      ];
      const allowed = actions.split(',').filter((a) => user !== undefined || (opts.anonymousPull && a === 'pull'));
      return allowed.length ? [{ type, name, actions: allowed }] : [];
    });

  const server: Server = createServer((req, res) => {
    void (async () => {
      const url = new URL(req.url!, 'http://x');
      if (url.pathname !== '/token') {
        res.statusCode = 404;
        return void res.end();
      }
      let user: string | undefined;
      let scopes = url.searchParams
        .getAll('scope')
        .flatMap((s) => s.split(' '))
        .filter(Boolean);
      let grantType: string | undefined;
      const basic = /^Basic (.+)$/.exec(req.headers.authorization ?? '');
      if (basic) {
        const [u, ...rest] = Buffer.from(basic[1]!, 'base64').toString().split(':');
        if (opts.users[u!] !== rest.join(':')) return deny(res);
        user = u;
      }
      if (req.method === 'POST') {
        const form = new URLSearchParams(await body(req));
        grantType = form.get('grant_type') ?? undefined;
        scopes = (form.get('scope') ?? '').split(' ').filter(Boolean);
        if (grantType === 'refresh_token') {
          if (form.get('refresh_token') !== refreshToken) return deny(res);
          user = Object.keys(opts.users)[0];
        } else if (grantType === 'password') {
          const u = form.get('username') ?? '';
          if (opts.users[u] !== form.get('password')) return deny(res);
          user = u;
        } else return deny(res);
      }
      requests.push({
        method: req.method!,
        scopes,
        ...(user ? { user } : {}),
        ...(grantType ? { grant: grantType } : {}),
      });
      const token = jwt(user ?? '', grant(user, scopes));
      res.setHeader('content-type', 'application/json');
      res.end(
        JSON.stringify(req.method === 'POST' ? { access_token: token, expires_in: 300 } : { token, expires_in: 300 }),
      );
    })();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  return {
    realm: `http://127.0.0.1:${port}/token`,
    service,
    issuer,
    certFile,
    refreshToken,
    requests,
    stop: () => new Promise((resolve) => server.close(() => resolve())),
  };
}

function deny(res: import('node:http').ServerResponse): void {
  res.statusCode = 401;
  res.end(JSON.stringify({ errors: [{ code: 'UNAUTHORIZED', message: 'bad credentials' }] }));
}

async function body(req: IncomingMessage): Promise<string> {
  let s = '';
  for await (const c of req) s += (c as Buffer).toString();
  return s;
}
