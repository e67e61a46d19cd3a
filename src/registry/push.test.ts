/**
 * Push and pull against real registries (Debian's docker-registry on 127.0.0.1): plain HTTP,
 * TLS with a private CA, htpasswd Basic auth, token auth; with connections broken on purpose
 * by a proxy. What is pushed is read back with skopeo.
 */
import { execFile } from 'node:child_process';
import { chmod, mkdir, mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { ContentStore } from '../store/content-store.js';
import { UserError } from '../errors.js';
import type { Descriptor } from '../image/types.js';
import { makeBusyboxLayout, type LayoutImage } from '../../test/helpers/busybox-layout.js';
import { startFlakyProxy } from '../../test/helpers/flaky-proxy.js';
import { skopeoCopy, startRegistry, type TestRegistry } from '../../test/helpers/registry.js';
import { BlobSources } from './blob-sources.js';
import { RegistryClient } from './client.js';
import { dockerConfigCredentials } from './docker-config.js';
import { resolveOciLayout } from './oci-layout.js';
import { Pusher, type PushContent } from './push.js';
import { parseReference } from './reference.js';

const run = promisify(execFile);
const amd64 = { os: 'linux', architecture: 'amd64' };

let tmp: string;
let img: LayoutImage;
let store: ContentStore;
let content: PushContent;
let n = 0;

beforeAll(async () => {
  tmp = await mkdtemp(join(tmpdir(), 'tsbuild-push-test-'));
  img = await makeBusyboxLayout(join(tmp, 'layout'));
  store = new ContentStore(join(tmp, 'store'));
  const r = await resolveOciLayout(img.layout, 'latest', amd64, store);
  content = {
    blobs: [r.configDescriptor, ...r.manifest.layers],
    manifests: [{ descriptor: r.manifestDescriptor, bytes: await store.read(r.manifestDescriptor.digest) }],
  };
});
afterAll(async () => {
  if (tmp) await rm(tmp, { recursive: true, force: true });
});

async function inspect(
  reg: TestRegistry,
  name: string,
  extra: string[] = [],
): Promise<{ Digest: string; Layers: string[] }> {
  const { stdout } = await run('skopeo', [
    'inspect',
    '--tls-verify=false',
    ...reg.skopeoArgs('inspect'),
    ...extra,
    `docker://${reg.host}/${name}`,
  ]);
  return JSON.parse(stdout) as { Digest: string; Layers: string[] };
}

function rejection(p: Promise<unknown>): Promise<Error> {
  return p.then(
    () => {
      throw new Error('expected a rejection');
    },
    (err: Error) => err,
  );
}

describe('push to a plain-HTTP registry', () => {
  let reg: TestRegistry;
  beforeAll(async () => {
    reg = await startRegistry();
  });
  afterAll(async () => reg?.stop());

  test('pushes every tag; skopeo reads and copies it; a second push uploads nothing; another repository mounts', async () => {
    const client = new RegistryClient();
    const sources = new BlobSources(join(tmp, `sources-${n++}`));
    const pusher = new Pusher(client.session, store, sources);
    const first = await pusher.push(content, [
      parseReference(`${reg.host}/team/app:1.0`),
      parseReference(`${reg.host}/team/app:latest`),
    ]);
    expect(first).toEqual({ uploaded: 2, mounted: 0, existing: 0 });
    for (const tag of ['1.0', 'latest']) {
      const info = await inspect(reg, `team/app:${tag}`);
      expect(info.Digest).toBe(img.manifestDigest);
      expect(info.Layers).toEqual(img.layerDigests);
    }
    await skopeoCopy(`docker://${reg.host}/team/app:1.0`, `oci:${join(tmp, 'copied')}:x`);

    expect(await pusher.push(content, [parseReference(`${reg.host}/team/app:1.0`)])).toEqual({
      uploaded: 0,
      mounted: 0,
      existing: 2,
    });
    expect(await pusher.push(content, [parseReference(`${reg.host}/other/app:1`)])).toEqual({
      uploaded: 0,
      mounted: 2,
      existing: 0,
    });
    expect((await inspect(reg, 'other/app:1')).Digest).toBe(img.manifestDigest);
  });

  test('a chunked upload broken mid-chunk resumes where the registry says it is', async () => {
    // the second PATCH loses its connection after 1000 bytes
    const proxy = await startFlakyProxy(reg.port, {
      cutRequest: (r, nth) => (r.method === 'PATCH' && nth === 2 ? 1000 : undefined),
    });
    try {
      const client = new RegistryClient();
      const pusher = new Pusher(client.session, store, undefined, { chunkSize: 64 << 10, parallel: 1 });
      const stats = await pusher.push(content, [parseReference(`${proxy.host}/resume/app:1`)]).catch((err: Error) => {
        throw new Error(
          `${err.message}\n${proxy.requests.map((r) => `${r.method} ${r.url.replace(/_state=[^&]+/, '_state=…')} ${r.contentRange ?? ''} ${r.range ?? ''} → ${r.status}`).join('\n')}`,
        );
      });
      expect(stats.uploaded).toBe(2);
      const patches = proxy.requests.filter((r) => r.method === 'PATCH');
      expect(patches.length).toBeGreaterThan(3);
      // after the break the client asked the upload's status, then went on from the offset it was told
      const broken = proxy.requests.indexOf(patches[1]!);
      expect(proxy.requests[broken + 1]!.method).toBe('GET');
      expect(patches[2]!.contentRange).toMatch(/^\d+-\d+$/);
      const info = await inspect(reg, 'resume/app:1');
      expect(info.Digest).toBe(img.manifestDigest);
      await skopeoCopy(`docker://${reg.host}/resume/app:1`, `oci:${join(tmp, 'resumed')}:x`);
    } finally {
      await proxy.stop();
    }
  });

  test('a blob download cut off midway is resumed with a Range request', async () => {
    await new Pusher(new RegistryClient().session, store, undefined).push(content, [
      parseReference(`${reg.host}/pull/app:1`),
    ]);
    const proxy = await startFlakyProxy(reg.port, {
      cutResponse: (r, nth) =>
        r.method === 'GET' && /\/blobs\/sha256:/.test(r.url) && !r.range && nth <= 3 ? 5000 : undefined,
    });
    try {
      const client = new RegistryClient();
      const s = new ContentStore(join(tmp, `store-${n++}`));
      const ref = parseReference(`${proxy.host}/pull/app:1`);
      const r = await client.resolve(ref, amd64, s);
      await client.fetchBlob(ref, r.manifest.layers[0]!, s);
      expect(await s.has(r.manifest.layers[0]!.digest)).toBe(true);
      // where it resumed depends on how much of the cut answer was read before the reset
      expect(
        proxy.requests.some((q) => /^bytes=\d+-$/.test(q.range ?? '')),
        JSON.stringify(proxy.requests),
      ).toBe(true);
      expect(await readdir(join(s.root, 'ingest'))).toEqual([]);
    } finally {
      await proxy.stop();
    }
  });

  test('a truncated blob is a size mismatch naming the image, and nothing is kept', async () => {
    const layer = content.blobs[1]!;
    const lying: Descriptor = { ...layer, size: layer.size + 100 };
    const s = new ContentStore(join(tmp, `store-${n++}`));
    const err = await rejection(new RegistryClient().fetchBlob(parseReference(`${reg.host}/team/app:1.0`), lying, s));
    expect(err).toBeInstanceOf(UserError);
    expect(err.message).toBe(
      `size mismatch in blob ${layer.digest} of ${reg.host}/team/app:1.0 from registry ${reg.host}: expected ${lying.size} bytes, got ${layer.size} bytes`,
    );
    expect(await s.has(layer.digest)).toBe(false);
    expect(await readdir(join(s.root, 'ingest'))).toEqual([]);
  });
});

describe('TLS registry with a private CA', () => {
  let reg: TestRegistry;
  beforeAll(async () => {
    reg = await startRegistry({ tls: true });
    await reg.push(img.layout, 'latest', 'tls/busybox:1');
  });
  afterAll(async () => reg?.stop());

  test('verified with --registry-ca or SSL_CERT_FILE; refused with a hint without them', async () => {
    const ref = parseReference(`${reg.host}/tls/busybox:1`);
    const withCa = await new RegistryClient({ caFiles: [reg.caFile!] }).resolve(
      ref,
      amd64,
      new ContentStore(join(tmp, `store-${n++}`)),
    );
    expect(withCa.manifestDescriptor.digest).toBe(img.manifestDigest);
    const withEnv = await new RegistryClient({ env: { SSL_CERT_FILE: reg.caFile! } }).resolve(
      ref,
      amd64,
      new ContentStore(join(tmp, `store-${n++}`)),
    );
    expect(withEnv.manifestDescriptor.digest).toBe(img.manifestDigest);

    const err = await rejection(
      new RegistryClient({ env: {} }).resolve(ref, amd64, new ContentStore(join(tmp, `store-${n++}`))),
    );
    expect(err).toBeInstanceOf(UserError);
    expect(err.message).toMatch(new RegExp(`^cannot reach registry ${reg.host} for ${reg.host}/tls/busybox:1: `));
    expect((err as UserError).hint).toMatch(/--registry-ca FILE \(or SSL_CERT_FILE\).*--insecure-registry/);
  });

  test('--insecure-registry skips the check; push works over TLS', async () => {
    const client = new RegistryClient({ insecureHosts: [reg.host], env: {} });
    const stats = await new Pusher(client.session, store, undefined).push(content, [
      parseReference(`${reg.host}/tls/pushed:1`),
    ]);
    expect(stats.uploaded).toBe(2);
    expect((await inspect(reg, 'tls/pushed:1')).Digest).toBe(img.manifestDigest);
  });
});

/** A docker config dir holding `config` (and PATH entries for credential helpers). */
async function dockerConfigDir(config: unknown): Promise<string> {
  const dir = join(tmp, `docker-config-${n++}`);
  await mkdir(dir, { recursive: true });
  await writeFile(join(dir, 'config.json'), JSON.stringify(config));
  return dir;
}

describe('htpasswd (Basic) registry', () => {
  let reg: TestRegistry;
  beforeAll(async () => {
    reg = await startRegistry({ auth: 'htpasswd' });
  });
  afterAll(async () => reg?.stop());

  test('credentials from config.json auths; without them, a clear 401 naming the image', async () => {
    const auth = Buffer.from(`${reg.user.username}:${reg.user.password}`).toString('base64');
    const dir = await dockerConfigDir({ auths: { [`http://${reg.host}`]: { auth } } });
    const client = new RegistryClient({ credentials: dockerConfigCredentials({ DOCKER_CONFIG: dir }) });
    await new Pusher(client.session, store, undefined).push(content, [parseReference(`${reg.host}/basic/app:1`)]);
    const pulled = await client.resolve(
      parseReference(`${reg.host}/basic/app:1`),
      amd64,
      new ContentStore(join(tmp, `store-${n++}`)),
    );
    expect(pulled.manifestDescriptor.digest).toBe(img.manifestDigest);

    const anonymous = new RegistryClient({
      credentials: dockerConfigCredentials({ DOCKER_CONFIG: join(tmp, 'nowhere') }),
    });
    const pushErr = await rejection(
      new Pusher(anonymous.session, store, undefined).push(content, [parseReference(`${reg.host}/basic/app:2`)]),
    );
    expect(pushErr.message).toBe(
      `push access denied for ${reg.host}/basic/app:2: the repository does not exist or needs credentials`,
    );
    const pullErr = await rejection(
      anonymous.resolve(parseReference(`${reg.host}/basic/app:1`), amd64, new ContentStore(join(tmp, `store-${n++}`))),
    );
    expect(pullErr.message).toBe(
      `pull access denied for ${reg.host}/basic/app:1: the repository does not exist or needs credentials`,
    );
    expect(`${pushErr.message} ${(pushErr as UserError).detail} ${(pushErr as UserError).hint}`).not.toContain(
      reg.user.password,
    );
  });

  test('credentials from a credential helper (credHelpers), run as docker runs it', async () => {
    const bin = join(tmp, `bin-${n++}`);
    await mkdir(bin, { recursive: true });
    const helper = join(bin, 'docker-credential-tsbtest');
    // answers only for this registry, as `docker-credential-* get` does (server URL on stdin)
    await writeFile(
      helper,
      `#!/bin/sh\nread server\nif [ "$server" = "${reg.host}" ]; then printf '{"ServerURL":"%s","Username":"${reg.user.username}","Secret":"${reg.user.password}"}' "$server"; else echo "credentials not found in native keychain"; exit 1; fi\n`,
    );
    await chmod(helper, 0o755);
    const dir = await dockerConfigDir({ credHelpers: { [reg.host]: 'tsbtest' }, credsStore: 'absent-store' });
    const client = new RegistryClient({
      credentials: dockerConfigCredentials({ DOCKER_CONFIG: dir, PATH: `${bin}:${process.env.PATH}` }),
    });
    const stats = await new Pusher(client.session, store, undefined).push(content, [
      parseReference(`${reg.host}/helper/app:1`),
    ]);
    expect(stats.uploaded + stats.existing + stats.mounted).toBe(2);
    expect((await inspect(reg, 'helper/app:1')).Digest).toBe(img.manifestDigest);
  });
});

describe('token-auth registry (a token server of our own)', () => {
  let reg: TestRegistry;
  beforeAll(async () => {
    reg = await startRegistry({ auth: 'token' });
  });
  afterAll(async () => reg?.stop());

  test('push asks for pull,push; a mount also for pull on the source; pull works; anonymous is denied', async () => {
    const creds = { username: reg.user.username, password: reg.user.password };
    const client = new RegistryClient({ credentials: (r) => (r === reg.host ? creds : undefined) });
    const sources = new BlobSources(join(tmp, `sources-${n++}`));
    const pusher = new Pusher(client.session, store, sources);
    expect((await pusher.push(content, [parseReference(`${reg.host}/tok/app:1`)])).uploaded).toBe(2);
    expect(
      reg.tokens!.requests.some((r) => r.scopes.includes('repository:tok/app:pull,push') && r.user === creds.username),
    ).toBe(true);
    expect((await pusher.push(content, [parseReference(`${reg.host}/tok/copy:1`)])).mounted).toBe(2);
    expect(
      reg.tokens!.requests.some(
        (r) => r.scopes.includes('repository:tok/copy:pull,push') && r.scopes.includes('repository:tok/app:pull'),
      ),
    ).toBe(true);
    expect((await inspect(reg, 'tok/copy:1')).Digest).toBe(img.manifestDigest);

    const pulled = await client.resolve(
      parseReference(`${reg.host}/tok/app:1`),
      amd64,
      new ContentStore(join(tmp, `store-${n++}`)),
    );
    expect(pulled.manifestDescriptor.digest).toBe(img.manifestDigest);

    const err = await rejection(
      new RegistryClient().resolve(
        parseReference(`${reg.host}/tok/app:1`),
        amd64,
        new ContentStore(join(tmp, `store-${n++}`)),
      ),
    );
    expect(err).toBeInstanceOf(UserError);
    expect(err.message).toBe(
      `pull access denied for ${reg.host}/tok/app:1: the repository does not exist or needs credentials`,
    );
  });

  test('an identity token (docker login with a token service) is exchanged with the OAuth2 POST', async () => {
    const dir = await dockerConfigDir({
      auths: {
        [reg.host]: { auth: Buffer.from('<token>:').toString('base64'), identitytoken: reg.tokens!.refreshToken },
      },
    });
    const client = new RegistryClient({ credentials: dockerConfigCredentials({ DOCKER_CONFIG: dir }) });
    const stats = await new Pusher(client.session, store, undefined).push(content, [
      parseReference(`${reg.host}/tok/oauth:1`),
    ]);
    expect(stats.uploaded + stats.existing + stats.mounted).toBe(2);
    expect(reg.tokens!.requests.some((r) => r.method === 'POST' && r.grant === 'refresh_token')).toBe(true);
  });
});
