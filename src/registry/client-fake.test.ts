/**
 * The client against a scripted registry, for what a well-behaved registry never does: demand
 * tokens, lie about content, redirect to storage, fail transiently.
 */
import { createHash, randomBytes } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { afterAll, afterEach, beforeAll, describe, expect, test } from 'vitest';
import { ContentStore } from '../store/content-store.js';
import { UserError } from '../errors.js';
import type { Digest } from '../image/types.js';
import { RegistryClient } from './client.js';
import { parseReference } from './reference.js';

const platform = { os: 'linux', architecture: 'amd64' };
const sha256 = (b: Buffer | string) => `sha256:${createHash('sha256').update(b).digest('hex')}`;

const layer = gzipSync(Buffer.from('pretend this is a tar'));
const config = Buffer.from(
  JSON.stringify({
    architecture: 'amd64',
    os: 'linux',
    config: {},
    rootfs: { type: 'layers', diff_ids: [sha256('pretend this is a tar')] },
  }),
);
const manifest = Buffer.from(
  JSON.stringify({
    schemaVersion: 2,
    mediaType: 'application/vnd.oci.image.manifest.v1+json',
    config: { mediaType: 'application/vnd.oci.image.config.v1+json', digest: sha256(config), size: config.length },
    layers: [{ mediaType: 'application/vnd.oci.image.layer.v1.tar+gzip', digest: sha256(layer), size: layer.length }],
  }),
);

type Handler = (req: IncomingMessage, res: ServerResponse, url: URL) => void;

async function listen(handler: Handler): Promise<{ server: Server; host: string }> {
  const server = createServer((req, res) => handler(req, res, new URL(req.url!, 'http://x')));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { server, host: `127.0.0.1:${(server.address() as AddressInfo).port}` };
}

/** Serves the image above at repository `repo`, tag `latest`; `tweak` can override any answer. */
function registryHandler(
  repo: string,
  tweak: (path: string, req: IncomingMessage, res: ServerResponse) => boolean = () => false,
): Handler {
  return (req, res, url) => {
    if (tweak(url.pathname, req, res)) return;
    const blobs: Record<string, Buffer> = { [sha256(config)]: config, [sha256(layer)]: layer };
    if (url.pathname === '/v2/') return void res.end('{}');
    if (
      url.pathname === `/v2/${repo}/manifests/latest` ||
      url.pathname === `/v2/${repo}/manifests/${sha256(manifest)}`
    ) {
      res.setHeader('content-type', 'application/vnd.oci.image.manifest.v1+json');
      res.setHeader('docker-content-digest', sha256(manifest));
      return void res.end(manifest);
    }
    const m = /^\/v2\/(.+)\/blobs\/(sha256:[a-f0-9]{64})$/.exec(url.pathname);
    if (m && m[1] === repo && blobs[m[2]!]) return void res.end(blobs[m[2]!]);
    res.statusCode = 404;
    res.end(JSON.stringify({ errors: [{ code: 'NOT_FOUND', message: 'not found' }] }));
  };
}

describe('RegistryClient against a scripted registry', () => {
  let tmp: string;
  const servers: Server[] = [];
  let n = 0;
  const freshStore = () => new ContentStore(join(tmp, `store-${n++}`));

  async function serve(handler: Handler): Promise<string> {
    const { server, host } = await listen(handler);
    servers.push(server);
    return host;
  }

  beforeAll(async () => {
    tmp = await mkdtemp(join(tmpdir(), 'tsbuild-client-fake-'));
  });
  afterEach(async () => {
    await Promise.all(servers.splice(0).map((s) => new Promise((r) => s.close(r))));
  });
  afterAll(async () => {
    await rm(tmp, { recursive: true, force: true });
  });

  test('bearer token flow: anonymous token for the repository pull scope, fetched once', async () => {
    const tokenRequests: URL[] = [];
    let host = '';
    host = await serve((req, res, url) => {
      if (url.pathname === '/token') {
        tokenRequests.push(url);
        res.setHeader('content-type', 'application/json');
        return void res.end(JSON.stringify({ token: 'tok-1', expires_in: 300 }));
      }
      if (req.headers.authorization !== 'Bearer tok-1') {
        res.statusCode = 401;
        res.setHeader(
          'www-authenticate',
          `Bearer realm="http://${host}/token",service="fake-registry",scope="repository:team/app:pull"`,
        );
        return void res.end(JSON.stringify({ errors: [{ code: 'UNAUTHORIZED' }] }));
      }
      registryHandler('team/app')(req, res, url);
    });
    const client = new RegistryClient();
    const store = freshStore();
    const ref = parseReference(`${host}/team/app`);
    const r = await client.resolve(ref, platform, store);
    await client.fetchBlob(ref, r.manifest.layers[0]!, store);
    expect(await store.has(sha256(layer))).toBe(true);
    expect(tokenRequests).toHaveLength(1);
    expect(tokenRequests[0]!.searchParams.get('service')).toBe('fake-registry');
    expect(tokenRequests[0]!.searchParams.getAll('scope')).toEqual(['repository:team/app:pull']);
  });

  test('bearer token flow sends credentials to the token service when there are some', async () => {
    let seen: string | undefined;
    let host = '';
    host = await serve((req, res, url) => {
      if (url.pathname === '/token') {
        seen = req.headers.authorization;
        return void res.end(JSON.stringify({ access_token: 'tok-2' }));
      }
      if (req.headers.authorization !== 'Bearer tok-2') {
        res.statusCode = 401;
        res.setHeader('www-authenticate', `Bearer realm="http://${host}/token",service="s"`);
        return void res.end();
      }
      registryHandler('app')(req, res, url);
    });
    const client = new RegistryClient({
      credentials: (registry) => (registry === host ? { username: 'u', password: 'p' } : undefined),
    });
    await client.resolve(parseReference(`${host}/app`), platform, freshStore());
    expect(seen).toBe(`Basic ${Buffer.from('u:p').toString('base64')}`);
  });

  test('basic auth with credentials; without them, access denied naming the image', async () => {
    const host = await serve((req, res, url) => {
      if (req.headers.authorization !== `Basic ${Buffer.from('u:p').toString('base64')}`) {
        res.statusCode = 401;
        res.setHeader('www-authenticate', 'Basic realm="fake"');
        return void res.end();
      }
      registryHandler('app')(req, res, url);
    });
    const withCreds = new RegistryClient({ credentials: () => ({ username: 'u', password: 'p' }) });
    const r = await withCreds.resolve(parseReference(`${host}/app`), platform, freshStore());
    expect(r.manifestDescriptor.digest).toBe(sha256(manifest));

    const err = await new RegistryClient()
      .resolve(parseReference(`${host}/app`), platform, freshStore())
      .catch((e: Error) => e);
    expect(err).toBeInstanceOf(UserError);
    expect((err as Error).message).toBe(
      `pull access denied for ${host}/app:latest: the repository does not exist or needs credentials`,
    );
  });

  test('a manifest whose content does not match the requested digest is rejected', async () => {
    const other = Buffer.from(manifest.toString().replace('"schemaVersion":2', '"schemaVersion": 2'));
    const host = await serve(
      registryHandler('app', (path, _req, res) => {
        if (!path.startsWith('/v2/app/manifests/')) return false;
        res.setHeader('content-type', 'application/vnd.oci.image.manifest.v1+json');
        res.end(other);
        return true;
      }),
    );
    const store = freshStore();
    const err = await new RegistryClient()
      .resolve(parseReference(`${host}/app@${sha256(manifest)}`), platform, store)
      .catch((e: Error) => e);
    expect(err).toBeInstanceOf(UserError);
    expect((err as Error).message).toBe(
      `digest mismatch for ${host}/app@${sha256(manifest)}: asked for ${sha256(manifest)}, registry ${host} sent content with digest ${sha256(other)}`,
    );
    expect(await store.has(sha256(other))).toBe(false);
  });

  test("a manifest that does not match the registry's own Docker-Content-Digest is rejected", async () => {
    const host = await serve(
      registryHandler('app', (path, _req, res) => {
        if (path !== '/v2/app/manifests/latest') return false;
        res.setHeader('docker-content-digest', `sha256:${'f'.repeat(64)}`);
        res.end(manifest);
        return true;
      }),
    );
    const err = await new RegistryClient()
      .resolve(parseReference(`${host}/app`), platform, freshStore())
      .catch((e: Error) => e);
    expect(err).toBeInstanceOf(UserError);
    expect((err as Error).message).toMatch(/^digest mismatch for .*app:latest: registry .* says sha256:f{64}/);
  });

  test('a corrupted layer is a digest mismatch and leaves nothing in the store', async () => {
    const corrupt = Buffer.from(layer);
    corrupt[corrupt.length - 1] ^= 0xff;
    const host = await serve(
      registryHandler('app', (path, _req, res) => {
        if (path !== `/v2/app/blobs/${sha256(layer)}`) return false;
        res.end(corrupt);
        return true;
      }),
    );
    const client = new RegistryClient();
    const store = freshStore();
    const ref = parseReference(`${host}/app`);
    const r = await client.resolve(ref, platform, store);
    const err = await client.fetchBlob(ref, r.manifest.layers[0]!, store).catch((e: Error) => e);
    expect(err).toBeInstanceOf(UserError);
    expect((err as Error).message).toBe(
      `digest mismatch in blob ${sha256(layer)} of ${host}/app:latest from registry ${host}: expected ${sha256(layer)}, got ${sha256(corrupt)}`,
    );
    expect(await store.has(sha256(layer))).toBe(false);
    expect(await store.has(sha256(corrupt))).toBe(false);
  });

  test('blob redirects are followed without sending the registry credentials to the storage host', async () => {
    let storageAuth: string | undefined = 'unset';
    const storage = await serve((req, res) => {
      storageAuth = req.headers.authorization;
      res.end(layer);
    });
    let host = '';
    host = await serve((req, res, url) => {
      if (url.pathname === '/token') return void res.end(JSON.stringify({ token: 't' }));
      if (req.headers.authorization !== 'Bearer t') {
        res.statusCode = 401;
        res.setHeader('www-authenticate', `Bearer realm="http://${host}/token"`);
        return void res.end();
      }
      if (url.pathname === `/v2/app/blobs/${sha256(layer)}`) {
        res.statusCode = 307;
        res.setHeader('location', `http://${storage}/bucket/object?sig=1`);
        return void res.end();
      }
      registryHandler('app')(req, res, url);
    });
    const client = new RegistryClient();
    const store = freshStore();
    const ref = parseReference(`${host}/app`);
    const r = await client.resolve(ref, platform, store);
    await client.fetchBlob(ref, r.manifest.layers[0]!, store);
    expect(await store.has(sha256(layer))).toBe(true);
    expect(storageAuth).toBeUndefined();
  });

  test("503 is retried; a persistent 500 is reported with the registry's message", async () => {
    let calls = 0;
    const flaky = await serve(
      registryHandler('app', (path, _req, res) => {
        if (path !== '/v2/app/manifests/latest' || calls++ > 0) return false;
        res.statusCode = 503;
        res.end();
        return true;
      }),
    );
    await new RegistryClient().resolve(parseReference(`${flaky}/app`), platform, freshStore());
    expect(calls).toBe(2);

    const broken = await serve((_req, res) => {
      res.statusCode = 500;
      res.end(JSON.stringify({ errors: [{ code: 'UNKNOWN', message: 'disk on fire' }] }));
    });
    const err = await new RegistryClient()
      .resolve(parseReference(`${broken}/app`), platform, freshStore())
      .catch((e: Error) => e);
    expect(err).toBeInstanceOf(UserError);
    expect((err as Error).message).toBe(
      `registry ${broken} failed to serve manifest of ${broken}/app:latest: 500 Internal Server Error`,
    );
    expect((err as UserError).detail).toBe('UNKNOWN: disk on fire');
  });

  test('schema 1 manifests are refused clearly', async () => {
    const host = await serve(
      registryHandler('app', (path, _req, res) => {
        if (path !== '/v2/app/manifests/latest') return false;
        res.setHeader('content-type', 'application/vnd.docker.distribution.manifest.v1+prettyjws');
        res.end(JSON.stringify({ schemaVersion: 1, name: 'app', tag: 'latest', fsLayers: [] }));
        return true;
      }),
    );
    const err = await new RegistryClient()
      .resolve(parseReference(`${host}/app`), platform, freshStore())
      .catch((e: Error) => e);
    expect(err).toBeInstanceOf(UserError);
    expect((err as Error).message).toMatch(/schema 1 manifest format/);
  });

  test('asks for OCI and Docker manifests and indexes', async () => {
    let accept: string | undefined;
    const host = await serve(
      registryHandler('app', (path, req) => {
        if (path === '/v2/app/manifests/latest') accept = req.headers.accept;
        return false;
      }),
    );
    await new RegistryClient().resolve(parseReference(`${host}/app`), platform, freshStore());
    expect(accept?.split(', ').sort()).toEqual([
      'application/vnd.docker.distribution.manifest.list.v2+json',
      'application/vnd.docker.distribution.manifest.v2+json',
      'application/vnd.oci.image.index.v1+json',
      'application/vnd.oci.image.manifest.v1+json',
    ]);
  });

  test('a request that gets no answer in time is asked again (backoff), and so is a 5xx', async () => {
    let calls = 0;
    const host = await serve(
      registryHandler('app', (path) => {
        // the first manifest request is never answered
        return path === '/v2/app/manifests/latest' && calls++ === 0;
      }),
    );
    const client = new RegistryClient({ http: { headersTimeoutMs: 300 } });
    const r = await client.resolve(parseReference(`${host}/app`), platform, freshStore());
    expect(r.manifestDescriptor.digest).toBe(sha256(manifest));
    expect(calls).toBe(2);
  });

  test('a malformed manifest is refused naming the image, and nothing is stored', async () => {
    const host = await serve(
      registryHandler('app', (path, _req, res) => {
        if (path !== '/v2/app/manifests/latest') return false;
        res.setHeader('content-type', 'application/vnd.oci.image.manifest.v1+json');
        res.end('{"schemaVersion":2,"config":{"mediaType":"x","digest":"sha256:../../etc","size":1},"layers":[]}');
        return true;
      }),
    );
    const store = freshStore();
    const err = await new RegistryClient()
      .resolve(parseReference(`${host}/app`), platform, store)
      .catch((e: Error) => e);
    expect(err).toBeInstanceOf(UserError);
    expect((err as Error).message).toBe(
      `${host}/app:latest: config: unsupported or malformed digest "sha256:../../etc" (only sha256 is supported)`,
    );
    await store.init();
    expect(await readdir(store.blobsDir)).toEqual([]);
  });

  test('layers are downloaded in parallel', async () => {
    let inFlight = 0;
    let most = 0;
    const layer2 = gzipSync(Buffer.from('another pretend tar'));
    const host = await serve(
      registryHandler('app', (path, _req, res) => {
        const m = /\/blobs\/(sha256:[a-f0-9]{64})$/.exec(path);
        if (!m || (m[1] !== sha256(layer) && m[1] !== sha256(layer2))) return false;
        inFlight++;
        most = Math.max(most, inFlight);
        // answer only once both requests are here (or after a while, if they never are)
        const body = m[1] === sha256(layer) ? layer : layer2;
        const answer = () => {
          inFlight--;
          res.end(body);
        };
        const wait = setInterval(() => {
          if (most >= 2) {
            clearInterval(wait);
            answer();
          }
        }, 5);
        setTimeout(() => {
          clearInterval(wait);
          if (!res.writableEnded) answer();
        }, 2000);
        return true;
      }),
    );
    const client = new RegistryClient();
    const store = freshStore();
    const ref = parseReference(`${host}/app`);
    const descs = [
      { mediaType: 'application/vnd.oci.image.layer.v1.tar+gzip', digest: sha256(layer) as Digest, size: layer.length },
      {
        mediaType: 'application/vnd.oci.image.layer.v1.tar+gzip',
        digest: sha256(layer2) as Digest,
        size: layer2.length,
      },
    ];
    await Promise.all(descs.map((d) => client.fetchBlob(ref, d, store)));
    expect(most).toBe(2);
  });

  test('a blob cut off midway is resumed; a registry that ignores Range is read past what we have', async () => {
    const big = gzipSync(Buffer.alloc(300_000, 'x'), { level: 0 });
    const ranges: (string | undefined)[] = [];
    const host = await serve(
      registryHandler('app', (path, req, res) => {
        if (path !== `/v2/app/blobs/${sha256(big)}`) return false;
        ranges.push(req.headers.range);
        res.setHeader('content-length', String(big.length));
        if (ranges.length === 1) {
          // half of it, then the connection dies
          res.write(big.subarray(0, big.length >> 1), () => res.socket?.destroy());
          return true;
        }
        res.end(big); // ignores Range: 200 with everything
        return true;
      }),
    );
    const store = freshStore();
    await new RegistryClient().fetchBlob(
      parseReference(`${host}/app`),
      { mediaType: 'x', digest: sha256(big) as Digest, size: big.length },
      store,
    );
    expect(await store.has(sha256(big))).toBe(true);
    expect(ranges).toHaveLength(2);
    expect(ranges[1]).toMatch(/^bytes=\d+-$/);
  });

  test('a blob another build committed meanwhile: the connection of its unread answer is closed, not left holding the process for the 60 s idle timeout', async () => {
    const big = randomBytes(2 << 20);
    let closed!: () => void;
    const answerClosed = new Promise<void>((resolve) => (closed = resolve));
    const host = await serve(
      registryHandler('app', (path, _req, res) => {
        if (path !== `/v2/app/blobs/${sha256(big)}`) return false;
        res.socket!.on('close', closed);
        res.end(big);
        return true;
      }),
    );
    // The client finds the blob missing; by the time its answer arrives, another build has it.
    class RacedStore extends ContentStore {
      private asked = 0;
      override async has(digest: string): Promise<boolean> {
        if (digest === sha256(big) && this.asked++ === 0) {
          await this.put(big, 'application/octet-stream');
          return false;
        }
        return super.has(digest);
      }
    }
    const store = new RacedStore(join(tmp, `store-${n++}`));
    await store.init();
    await new RegistryClient().fetchBlob(
      parseReference(`${host}/app`),
      { mediaType: 'x', digest: sha256(big) as Digest, size: big.length },
      store,
    );
    const outcome = await Promise.race([
      answerClosed.then(() => 'closed'),
      new Promise((r) => setTimeout(() => r('still open after 5 s'), 5000).unref()),
    ]);
    expect(outcome).toBe('closed');
  });
});
