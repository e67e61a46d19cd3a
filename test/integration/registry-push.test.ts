/**
 * tsbuild against real registries on 127.0.0.1 (Debian's docker-registry): FROM cached by
 * digest, --pull, --push and type=image/registry outputs (several tags, cross-repository mounts,
 * nothing uploaded twice), TLS with a private CA, htpasswd auth from docker's config.json, and
 * bad registry answers leaving nothing half-written. Pushed images are read back with skopeo.
 */
import { execFile } from 'node:child_process';
import { mkdir, readFile, readdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BASE_LAYOUT, makeFixture, runCli, type Fixture } from '../helpers/build-fixture.js';
import { startFlakyProxy, type FlakyProxy } from '../helpers/flaky-proxy.js';
import { skopeoCopy, startRegistry, type TestRegistry } from '../helpers/registry.js';

const run = promisify(execFile);

async function inspect(reg: TestRegistry, name: string, raw = false): Promise<Record<string, unknown>> {
  const { stdout } = await run('skopeo', [
    'inspect',
    ...(raw ? ['--raw'] : []),
    '--tls-verify=false',
    ...reg.skopeoArgs('inspect'),
    `docker://${reg.host}/${name}`,
  ]);
  return JSON.parse(stdout) as Record<string, unknown>;
}

/** tsbuild in `fx`'s context and state dir, without the fixture's own -t/-o. */
function tsbuild(fx: Fixture, args: string[], env: NodeJS.ProcessEnv = {}) {
  return runCli(['--progress=plain', ...args, fx.context], { env: { TSBUILD_ROOT: fx.stateRoot, ...env } });
}

async function listFiles(dir: string): Promise<string[]> {
  return (await readdir(dir, { recursive: true }).catch(() => [] as string[])).map(String);
}

describe('base images from a registry', () => {
  let reg: TestRegistry;
  let proxy: FlakyProxy;
  let fx: Fixture;
  beforeAll(async () => {
    reg = await startRegistry();
    await reg.push(BASE_LAYOUT, 'latest', 'tsb/base:1');
    proxy = await startFlakyProxy(reg.port);
  });
  afterAll(async () => {
    await fx?.cleanup();
    await proxy?.stop();
    await reg?.stop();
  });

  it('are cached by digest: a later build asks the registry nothing; --pull asks one HEAD', async () => {
    fx = await makeFixture({ Dockerfile: `FROM ${proxy.host}/tsb/base:1\nRUN echo one > /one\n` });
    const first = await tsbuild(fx, ['-t', 'app:1']);
    expect(first.exitCode, first.stderr).toBe(0);
    expect(proxy.requests.filter((r) => r.url.includes('/blobs/')).length).toBe(2);

    // another step on the same base: the tag's recorded digest and the stored blobs suffice
    await writeFile(join(fx.context, 'Dockerfile'), `FROM ${proxy.host}/tsb/base:1\nRUN echo two > /two\n`);
    const before = proxy.requests.length;
    const second = await tsbuild(fx, ['-t', 'app:2']);
    expect(second.exitCode, second.stderr).toBe(0);
    expect(proxy.requests.slice(before)).toEqual([]);

    const pulled = await tsbuild(fx, ['-t', 'app:2', '--pull']);
    expect(pulled.exitCode, pulled.stderr).toBe(0);
    expect(proxy.requests.slice(before).map((r) => `${r.method} ${r.url}`)).toEqual([`HEAD /v2/tsb/base/manifests/1`]);
  });

  it('--pull follows a tag that moved', async () => {
    await reg.push(BASE_LAYOUT, 'latest', 'tsb/moving:1');
    await writeFile(join(fx.context, 'Dockerfile'), `FROM ${proxy.host}/tsb/moving:1\nLABEL v=1\n`);
    const first = await tsbuild(fx, ['--metadata-file', join(fx.dir, 'm1.json')]);
    expect(first.exitCode, first.stderr).toBe(0);
    // retag to an image with one more layer (built by us from the same base)
    await writeFile(join(fx.context, 'Dockerfile'), `FROM ${proxy.host}/tsb/moving:1\nRUN echo new > /new\n`);
    const other = await tsbuild(fx, [
      '-o',
      `type=oci,tar=false,dest=${join(fx.dir, 'newbase')}`,
      '-t',
      'newbase:latest',
    ]);
    expect(other.exitCode, other.stderr).toBe(0);
    await reg.push(join(fx.dir, 'newbase'), 'latest', 'tsb/moving:1');

    await writeFile(join(fx.context, 'Dockerfile'), `FROM ${proxy.host}/tsb/moving:1\nRUN cat /new\n`);
    const stale = await tsbuild(fx, []);
    expect(stale.exitCode).toBe(1); // the recorded digest is the old image, which has no /new
    const fresh = await tsbuild(fx, ['--pull']);
    expect(fresh.exitCode, fresh.stderr).toBe(0);
  });

  it('a missing tag and a malformed manifest are errors naming the image; nothing half-written stays', async () => {
    const bad = await makeFixture({ Dockerfile: `FROM ${reg.host}/tsb/base:nope\n` });
    try {
      const missing = await tsbuild(bad, []);
      expect(missing.exitCode).toBe(1);
      expect(missing.stderr).toContain(`error: image not found: ${reg.host}/tsb/base:nope`);

      const mangle = await startMangler(reg.port);
      try {
        await writeFile(join(bad.context, 'Dockerfile'), `FROM ${mangle.host}/tsb/base:1\n`);
        const malformed = await tsbuild(bad, []);
        expect(malformed.exitCode).toBe(1);
        expect(malformed.stderr).toContain(`error: ${mangle.host}/tsb/base:1: the manifest is not valid JSON`);
      } finally {
        await mangle.stop();
      }
      expect(await listFiles(join(bad.stateRoot, 'content', 'ingest'))).toEqual([]);
      expect(await listFiles(join(bad.stateRoot, 'resolved-tags'))).toEqual([]);
      expect((await listFiles(join(bad.stateRoot, 'content', 'blobs', 'sha256'))).length).toBe(0);
    } finally {
      await bad.cleanup();
    }
  });
});

/** A registry front that answers every manifest request with broken JSON. */
async function startMangler(upstreamPort: number): Promise<{ host: string; stop(): Promise<void> }> {
  const { createServer, request } = await import('node:http');
  const server = createServer((req, res) => {
    if (req.url?.includes('/manifests/')) {
      res.setHeader('content-type', 'application/vnd.oci.image.manifest.v1+json');
      return void res.end('{"schemaVersion": 2, "layers": [');
    }
    const up = request(
      { host: '127.0.0.1', port: upstreamPort, method: req.method, path: req.url, headers: req.headers },
      (u) => {
        res.writeHead(u.statusCode ?? 502, u.headers);
        u.pipe(res);
      },
    );
    req.pipe(up);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as { port: number }).port;
  return { host: `127.0.0.1:${port}`, stop: () => new Promise((resolve) => server.close(() => resolve())) };
}

describe('push', () => {
  let reg: TestRegistry;
  let fx: Fixture;
  beforeAll(async () => {
    reg = await startRegistry();
    fx = await makeFixture({
      Dockerfile: `FROM oci-layout://${BASE_LAYOUT}\nRUN echo pushed > /p\nCMD ["cat", "/p"]\n`,
    });
  });
  afterAll(async () => {
    await fx?.cleanup();
    await reg?.stop();
  });

  it('-t … --push pushes every tag; skopeo reads and copies it; --metadata-file says what was pushed', async () => {
    const meta = join(fx.dir, 'meta.json');
    const res = await tsbuild(fx, [
      '-t',
      `${reg.host}/team/app:1.0`,
      '-t',
      `${reg.host}/team/app:latest`,
      '--push',
      '--metadata-file',
      meta,
    ]);
    expect(res.exitCode, res.stderr).toBe(0);
    expect(res.stderr).toContain(`pushed ${reg.host}/team/app:1.0, ${reg.host}/team/app:latest`);
    const metadata = JSON.parse(await readFile(meta, 'utf8')) as Record<string, unknown>;
    const digest = metadata['containerimage.digest'];
    expect(metadata['image.name']).toBe(`${reg.host}/team/app:1.0,${reg.host}/team/app:latest`);
    expect(metadata['containerimage.descriptor']).toMatchObject({
      mediaType: 'application/vnd.oci.image.manifest.v1+json',
      digest,
    });
    for (const tag of ['1.0', 'latest']) expect((await inspect(reg, `team/app:${tag}`)).Digest).toBe(digest);
    const config = JSON.parse(
      (await run('skopeo', ['inspect', '--config', '--raw', '--tls-verify=false', `docker://${reg.host}/team/app:1.0`]))
        .stdout,
    ) as { config: { Cmd: string[] } };
    expect(config.config.Cmd).toEqual(['cat', '/p']);
    const copied = join(fx.dir, 'copied');
    await skopeoCopy(`docker://${reg.host}/team/app:1.0`, `oci:${copied}:x`);
    expect(JSON.parse(await readFile(join(copied, 'index.json'), 'utf8')).manifests[0].digest).toBe(digest);
    expect(metadata['containerimage.config.digest']).toBe(
      ((await inspect(reg, 'team/app:1.0', true)) as { config: { digest: string } }).config.digest,
    );
  });

  it('pushing the same image again uploads no blob; another repository of the registry mounts them', async () => {
    const again = await tsbuild(fx, ['-t', `${reg.host}/team/app:1.0`, '--push']);
    expect(again.exitCode, again.stderr).toBe(0);
    expect(again.stderr).toMatch(/0 blobs uploaded, 0 mounted, 3 already there/);
    const other = await tsbuild(fx, ['-o', `type=image,name=${reg.host}/elsewhere/app:1,push=true`]);
    expect(other.exitCode, other.stderr).toBe(0);
    expect(other.stderr).toMatch(/0 blobs uploaded, 3 mounted, 0 already there/);
    expect((await inspect(reg, 'elsewhere/app:1')).Digest).toBe((await inspect(reg, 'team/app:1.0')).Digest);
  });

  it('type=registry with compression=zstd pushes zstd layers under the OCI media type', async () => {
    const res = await tsbuild(fx, [
      '-o',
      `type=registry,name=${reg.host}/team/zstd:1,compression=zstd,force-compression=true`,
    ]);
    expect(res.exitCode, res.stderr).toBe(0);
    const manifest = (await inspect(reg, 'team/zstd:1', true)) as { layers: { mediaType: string }[] };
    expect(manifest.layers.map((l) => l.mediaType)).toEqual([
      'application/vnd.oci.image.layer.v1.tar+zstd',
      'application/vnd.oci.image.layer.v1.tar+zstd',
    ]);
  });

  it('--push without -t is an error saying what is missing', async () => {
    const res = await tsbuild(fx, ['--push']);
    expect(res.exitCode).toBe(1);
    expect(res.stderr).toContain('error: --push needs a name to push to');
  });
});

describe('authenticated and TLS registries', () => {
  let basic: TestRegistry;
  let tls: TestRegistry;
  let fx: Fixture;
  beforeAll(async () => {
    [basic, tls] = await Promise.all([startRegistry({ auth: 'htpasswd' }), startRegistry({ tls: true })]);
    await basic.push(BASE_LAYOUT, 'latest', 'private/base:1');
    await tls.push(BASE_LAYOUT, 'latest', 'secure/base:1');
    fx = await makeFixture({ Dockerfile: `FROM ${basic.host}/private/base:1\nRUN echo auth > /a\n` });
  });
  afterAll(async () => {
    await fx?.cleanup();
    await Promise.all([basic?.stop(), tls?.stop()]);
  });

  it('credentials come from $DOCKER_CONFIG/config.json and never reach the state dir or the output', async () => {
    const noCreds = await tsbuild(fx, [], { DOCKER_CONFIG: join(fx.dir, 'empty') });
    expect(noCreds.exitCode).toBe(1);
    expect(noCreds.stderr).toContain(
      `error: pull access denied for ${basic.host}/private/base:1: the repository does not exist or needs credentials`,
    );

    const dockerConfig = join(fx.dir, 'docker');
    await mkdir(dockerConfig, { recursive: true });
    const auth = Buffer.from(`${basic.user.username}:${basic.user.password}`).toString('base64');
    await writeFile(join(dockerConfig, 'config.json'), JSON.stringify({ auths: { [basic.host]: { auth } } }));
    const res = await tsbuild(fx, ['-t', `${basic.host}/private/app:1`, '--push'], { DOCKER_CONFIG: dockerConfig });
    expect(res.exitCode, res.stderr).toBe(0);
    expect((await inspect(basic, 'private/app:1')).Digest).toBeTruthy();
    const { stdout } = await run('grep', ['-rlF', '-e', basic.user.password, '-e', auth, fx.stateRoot]).catch(
      (e: { stdout: string }) => e,
    );
    expect(stdout).toBe('');
    expect(res.stderr + res.stdout).not.toContain(basic.user.password);
  });

  it('a TLS registry with a private CA: refused without it, trusted with --registry-ca, SSL_CERT_FILE or NODE_EXTRA_CA_CERTS', async () => {
    const tfx = await makeFixture({ Dockerfile: `FROM ${tls.host}/secure/base:1\nRUN echo tls > /t\n` });
    try {
      const refused = await tsbuild(tfx, [], { SSL_CERT_FILE: '' });
      expect(refused.exitCode).toBe(1);
      expect(refused.stderr).toContain(`error: cannot reach registry ${tls.host} for ${tls.host}/secure/base:1`);
      expect(refused.stderr).toContain('--registry-ca FILE');
      const withFlag = await tsbuild(tfx, ['--registry-ca', tls.caFile!, '-t', `${tls.host}/secure/app:1`, '--push'], {
        SSL_CERT_FILE: '',
      });
      expect(withFlag.exitCode, withFlag.stderr).toBe(0);
      expect((await inspect(tls, 'secure/app:1')).Digest).toBeTruthy();
      const withEnv = await tsbuild(tfx, ['--pull'], { SSL_CERT_FILE: tls.caFile! });
      expect(withEnv.exitCode, withEnv.stderr).toBe(0);
      // bin/tsbuild keeps it from node's start-up and hands it to the registry client
      const withNodeExtra = await tsbuild(tfx, ['--pull'], { SSL_CERT_FILE: '', NODE_EXTRA_CA_CERTS: tls.caFile! });
      expect(withNodeExtra.exitCode, withNodeExtra.stderr).toBe(0);
    } finally {
      await tfx.cleanup();
    }
  });
});
