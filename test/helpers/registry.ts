/**
 * A throwaway CNCF distribution registry (Debian's `docker-registry`) on a free 127.0.0.1 port,
 * for tests that pull or push over the real distribution API: plain HTTP by default, or TLS with
 * a CA made for it (`tls: true`), htpasswd Basic auth (`auth: 'htpasswd'`) or token auth
 * (`auth: 'token'`, with a token server of ours: see token-server.ts).
 *
 *   const reg = await startRegistry({ tls: true, auth: 'htpasswd' });
 *   await reg.push(layoutDir, 'latest', 'test/busybox:latest');
 *   ... `${reg.host}/test/busybox:latest`, reg.caFile, reg.user ...
 *   await reg.stop();
 */
import { spawn, execFile } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { request as httpsRequest } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { freePort } from './ports.js';
import { startTokenServer, type TokenServer } from './token-server.js';

export { freePort };

const run = promisify(execFile);

export interface RegistryOptions {
  /** Serve HTTPS with a certificate for 127.0.0.1 signed by a CA made for this registry. */
  tls?: boolean;
  /** htpasswd: Basic auth for `user`; token: Bearer tokens from a token server of ours. */
  auth?: 'htpasswd' | 'token';
  /** token auth: whether anonymous clients may pull (default false). */
  anonymousPull?: boolean;
}

export interface TestRegistry {
  /** `127.0.0.1:PORT`, as it appears in image references. */
  host: string;
  port: number;
  /** `http://127.0.0.1:PORT` */
  url: string;
  /** The registry's temp directory (config and storage); removed by stop(). */
  root: string;
  /** The CA that signed the registry's certificate (tls: true). */
  caFile?: string;
  /** The account auth accepts. */
  user: { username: string; password: string };
  /** The token server (auth: 'token'). */
  tokens?: TokenServer;
  /** Copies `layout:tag` (an OCI layout) to `repoAndTag` (e.g. `test/busybox:latest`) in this registry. */
  push(layout: string, tag: string, repoAndTag: string, opts?: { all?: boolean }): Promise<void>;
  /** skopeo's flags to reach this registry (credentials, TLS) as the source of a copy or an inspect. */
  skopeoArgs(side: 'src' | 'dest' | 'inspect'): string[];
  stop(): Promise<void>;
}

export async function startRegistry(opts: RegistryOptions = {}): Promise<TestRegistry> {
  let lastError: unknown;
  // a free port can be taken between freePort() and the registry's bind; try a few
  for (let i = 0; i < 3; i++) {
    try {
      return await startOnce(await freePort(), opts);
    } catch (err) {
      lastError = err;
    }
  }
  throw lastError;
}

const USER = { username: 'tsbuild', password: 's3cret-pw' };

async function startOnce(port: number, opts: RegistryOptions): Promise<TestRegistry> {
  const root = await mkdtemp(join(tmpdir(), 'tsbuild-registry-'));
  const lines = [
    'version: 0.1',
    'log:',
    '  level: error',
    '  accesslog:',
    '    disabled: true',
    'storage:',
    '  filesystem:',
    `    rootdirectory: ${join(root, 'data')}`,
    '  delete:',
    '    enabled: true',
    'http:',
    `  addr: 127.0.0.1:${port}`,
  ];
  let caFile: string | undefined;
  let tokens: TokenServer | undefined;
  if (opts.tls) {
    caFile = await makeCertificates(root);
    lines.push('  tls:', `    certificate: ${join(root, 'server.pem')}`, `    key: ${join(root, 'server.key')}`);
  }
  if (opts.auth === 'htpasswd') {
    const { stdout } = await run('htpasswd', ['-Bbn', USER.username, USER.password]);
    await writeFile(join(root, 'htpasswd'), stdout);
    lines.push('auth:', '  htpasswd:', '    realm: tsbuild-test', `    path: ${join(root, 'htpasswd')}`);
  }
  if (opts.auth === 'token') {
    tokens = await startTokenServer(root, {
      users: { [USER.username]: USER.password },
      anonymousPull: opts.anonymousPull ?? false,
    });
    lines.push(
      'auth:',
      '  token:',
      `    realm: ${tokens.realm}`,
      `    service: ${tokens.service}`,
      `    issuer: ${tokens.issuer}`,
      `    rootcertbundle: ${tokens.certFile}`,
    );
  }
  const config = join(root, 'config.yml');
  await writeFile(config, [...lines, ''].join('\n'));
  const child = spawn('docker-registry', ['serve', config], { stdio: ['ignore', 'pipe', 'pipe'] });
  let log = '';
  child.stdout.on('data', (d: Buffer) => (log += d.toString()));
  child.stderr.on('data', (d: Buffer) => (log += d.toString()));
  let exited = false;
  const exit = new Promise<void>((resolve) =>
    child.once('exit', () => {
      exited = true;
      resolve();
    }),
  );
  child.once('error', (err) => (log += `spawn error: ${err.message}\n`));

  const url = `${opts.tls ? 'https' : 'http'}://127.0.0.1:${port}`;
  const ca = caFile ? await readFile(caFile) : undefined;
  const cleanup = async () => {
    await tokens?.stop();
    await rm(root, { recursive: true, force: true });
  };
  const deadline = Date.now() + 15_000;
  for (;;) {
    if (exited) {
      await cleanup();
      throw new Error(`docker-registry exited before serving on ${url}:\n${log}`);
    }
    // 401 counts: an auth-protected registry is up when it asks for credentials
    if ([200, 401].includes(await probe(`${url}/v2/`, ca))) break;
    if (Date.now() > deadline) {
      child.kill('SIGKILL');
      await exit;
      await cleanup();
      throw new Error(`docker-registry did not answer on ${url} within 15s:\n${log}`);
    }
    await new Promise((r) => setTimeout(r, 50));
  }

  const host = `127.0.0.1:${port}`;
  const reg: TestRegistry = {
    host,
    port,
    url,
    root,
    ...(caFile ? { caFile } : {}),
    user: USER,
    ...(tokens ? { tokens } : {}),
    async push(layout, tag, repoAndTag, o = {}) {
      await skopeoCopy(`oci:${layout}:${tag}`, `docker://${host}/${repoAndTag}`, [
        ...(o.all ? ['--all'] : []),
        ...reg.skopeoArgs('dest'),
      ]);
    },
    skopeoArgs(side) {
      const prefix = side === 'inspect' ? '--' : `--${side}-`;
      return opts.auth ? [`${prefix}creds=${USER.username}:${USER.password}`] : [];
    },
    async stop() {
      if (!exited) {
        child.kill('SIGTERM');
        const timer = setTimeout(() => child.kill('SIGKILL'), 5_000);
        await exit;
        clearTimeout(timer);
      }
      await cleanup();
    },
  };
  return reg;
}

/** The status of GET url, or 0 when nothing answers (yet). */
function probe(url: string, ca: Buffer | undefined): Promise<number> {
  if (!url.startsWith('https:')) {
    return fetch(url).then(
      async (res) => {
        await res.body?.cancel();
        return res.status;
      },
      () => 0,
    );
  }
  return new Promise((resolve) => {
    const req = httpsRequest(url, { ca }, (res) => {
      res.resume();
      resolve(res.statusCode ?? 0);
    });
    req.on('error', () => resolve(0));
    req.end();
  });
}

/** A CA and a server certificate for 127.0.0.1/localhost signed by it (EC keys: quick to make). */
async function makeCertificates(dir: string): Promise<string> {
  const p = (name: string) => join(dir, name);
  const ec = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];
  await run('openssl', [
    'req',
    '-x509',
    ...ec,
    '-keyout',
    p('ca.key'),
    '-out',
    p('ca.pem'),
    '-days',
    '2',
    '-subj',
    '/CN=tsbuild test CA',
    '-addext',
    'basicConstraints=critical,CA:TRUE',
    '-addext',
    'keyUsage=critical,keyCertSign,cRLSign',
  ]);
  await run('openssl', ['req', ...ec, '-keyout', p('server.key'), '-out', p('server.csr'), '-subj', '/CN=127.0.0.1']);
  await writeFile(p('server.ext'), 'subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth\n');
  await run('openssl', [
    'x509',
    '-req',
    '-in',
    p('server.csr'),
    '-CA',
    p('ca.pem'),
    '-CAkey',
    p('ca.key'),
    '-CAcreateserial',
    '-out',
    p('server.pem'),
    '-days',
    '2',
    '-extfile',
    p('server.ext'),
  ]);
  return p('ca.pem');
}

/** `skopeo copy` with TLS verification off on both sides (test registries speak plain HTTP). */
export async function skopeoCopy(src: string, dest: string, extraArgs: string[] = []): Promise<void> {
  await run(
    'skopeo',
    ['copy', '--quiet', '--src-tls-verify=false', '--dest-tls-verify=false', ...extraArgs, src, dest],
    { maxBuffer: 16 << 20 },
  );
}
