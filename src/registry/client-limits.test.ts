/**
 * The client's time limits and what it accepts as a manifest, against a scripted registry:
 * a registry that trickles bytes must fail in bounded time (issue 10, point 10), and a manifest
 * is only what containerd takes for one.
 */
import { createHash } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createServer as createNetServer, type AddressInfo, type Socket } from 'node:net';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, test } from 'vitest';
import { ContentStore } from '../store/content-store.js';
import { EnvironmentError, UserError } from '../errors.js';
import type { Digest } from '../image/types.js';
import { MANIFEST_MAX_BYTES, RegistryClient } from './client.js';
import { parseReference } from './reference.js';

const platform = { os: 'linux', architecture: 'amd64' };
const sha256 = (b: Buffer | string) => `sha256:${createHash('sha256').update(b).digest('hex')}`;
const OCI_MANIFEST = 'application/vnd.oci.image.manifest.v1+json';
const layer = Buffer.alloc(4000, 'l');
const config = Buffer.from(
  JSON.stringify({
    architecture: 'amd64',
    os: 'linux',
    config: {},
    rootfs: { type: 'layers', diff_ids: [sha256('x')] },
  }),
);
const manifestDoc = (withType = true) => ({
  schemaVersion: 2,
  ...(withType ? { mediaType: OCI_MANIFEST } : {}),
  config: { mediaType: 'application/vnd.oci.image.config.v1+json', digest: sha256(config), size: config.length },
  layers: [{ mediaType: 'application/vnd.oci.image.layer.v1.tar', digest: sha256(layer), size: layer.length }],
});
const manifest = Buffer.from(JSON.stringify(manifestDoc()));

/** Sends `body` a byte at a time, every `everyMs`, until it is done or the client goes away. */
function trickle(res: ServerResponse, body: Buffer, everyMs: number): void {
  let i = 0;
  const t = setInterval(() => {
    if (res.destroyed || i >= body.length) {
      clearInterval(t);
      if (!res.destroyed) res.end();
      return;
    }
    res.write(body.subarray(i, ++i));
  }, everyMs);
  res.on('close', () => clearInterval(t));
}

describe('registry client limits', () => {
  let tmp: string;
  const servers: Server[] = [];
  let n = 0;
  const freshStore = () => new ContentStore(join(tmp, `store-${n++}`));
  const blobFiles = async (store: ContentStore) => readdir(join(store.root, 'blobs', 'sha256')).catch(() => []);

  async function serve(handler: (req: IncomingMessage, res: ServerResponse, path: string) => void): Promise<string> {
    const server = createServer((req, res) => handler(req, res, new URL(req.url!, 'http://x').pathname));
    servers.push(server);
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    return `127.0.0.1:${(server.address() as AddressInfo).port}`;
  }

  beforeAll(async () => {
    tmp = await mkdtemp(join(tmpdir(), 'tsbuild-client-limits-'));
  });
  afterEach(async () => {
    for (const s of servers.splice(0)) {
      s.closeAllConnections();
      await new Promise((r) => s.close(r));
    }
  });
  afterAll(async () => {
    await rm(tmp, { recursive: true, force: true });
  });

  async function failure(p: Promise<unknown>): Promise<UserError> {
    const err = await p.then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(UserError);
    return err as UserError;
  }

  test('a manifest trickled at a byte per 50 ms fails at the request deadline, asked again once, as an environment error naming the registry', async () => {
    let asked = 0;
    const host = await serve((_req, res, path) => {
      if (path !== '/v2/app/manifests/latest') return void res.writeHead(404).end();
      asked++;
      res.writeHead(200, { 'content-type': OCI_MANIFEST, 'content-length': String(manifest.length) });
      trickle(res, manifest, 50);
    });
    const started = Date.now();
    const client = new RegistryClient({ attempts: 2, http: { deadlineMs: 400 } });
    const err = await failure(client.resolve(parseReference(`${host}/app`), platform, freshStore()));
    expect(err).toBeInstanceOf(EnvironmentError);
    expect(err.message).toContain(`registry ${host} is too slow: manifest of ${host}/app:latest`);
    expect(err.message).toMatch(/took longer than 0\.4s/);
    expect(err.hint).toContain('TSBUILD_REGISTRY_TIMEOUTS');
    expect(asked).toBe(2);
    expect(Date.now() - started).toBeLessThan(5000);
  });

  test('no answer at all: the headers timeout, then the same error', async () => {
    const host = await serve(() => {});
    const client = new RegistryClient({ attempts: 1, http: { headersTimeoutMs: 300 } });
    const err = await failure(client.resolve(parseReference(`${host}/app`), platform, freshStore()));
    expect(err).toBeInstanceOf(EnvironmentError);
    expect(err.message).toContain(`registry ${host} is too slow`);
    expect(err.message).toContain('no answer within 0.3s');
  });

  test('a server that takes the connection and never answers (not even TLS) fails within the headers limit, saying which to raise', async () => {
    const sockets: Socket[] = [];
    const silent = createNetServer((s) => sockets.push(s.on('error', () => {})));
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
    const host = `127.0.0.1:${(silent.address() as AddressInfo).port}`;
    try {
      const started = Date.now();
      const client = new RegistryClient({ attempts: 1, http: { headersTimeoutMs: 300 } });
      const err = await failure(client.resolve(parseReference(`${host}/app`), platform, freshStore()));
      client.close();
      expect(err).toBeInstanceOf(EnvironmentError);
      expect(err.message).toContain(`registry ${host} is too slow`);
      expect(err.message).toContain('no answer within 0.3s');
      expect(err.hint).toContain('TSBUILD_REGISTRY_TIMEOUTS=headers=');
      // the TLS probe and the HTTPS handshake each wait the headers limit, not 3 s or the 60 s idle limit
      expect(Date.now() - started).toBeLessThan(2000);
    } finally {
      for (const s of sockets) s.destroy();
      await new Promise((r) => silent.close(r));
    }
  });

  test('a blob below the minimum rate fails (after bounded resumes) naming the blob and the rate; nothing of it is kept', async () => {
    const gets: (string | undefined)[] = [];
    const host = await serve((req, res, path) => {
      if (path !== `/v2/app/blobs/${sha256(layer)}`) return void res.writeHead(404).end();
      gets.push(req.headers.range);
      res.writeHead(200, { 'content-length': String(layer.length) });
      trickle(res, layer, 20);
    });
    const store = freshStore();
    await store.init();
    const client = new RegistryClient({ attempts: 2, http: { minBytesPerSecond: 1000, rateWindowMs: 300 } });
    const desc = { mediaType: 'x', digest: sha256(layer) as Digest, size: layer.length };
    const err = await failure(client.fetchBlob(parseReference(`${host}/app`), desc, store));
    expect(err).toBeInstanceOf(EnvironmentError);
    expect(err.message).toContain(`registry ${host} is too slow: blob ${sha256(layer)} of ${host}/app:latest`);
    expect(err.message).toMatch(/below the minimum of 1000 B\/s/);
    expect(gets).toHaveLength(2);
    expect(gets[1]).toMatch(/^bytes=\d+-$/);
    expect(await blobFiles(store)).toEqual([]);
  });

  test('a blob at a fair rate takes longer than the request deadline and is still fine', async () => {
    const host = await serve((_req, res, path) => {
      if (path !== `/v2/app/blobs/${sha256(layer)}`) return void res.writeHead(404).end();
      res.writeHead(200, { 'content-length': String(layer.length) });
      let i = 0;
      const t = setInterval(() => {
        res.write(layer.subarray(i, (i += 400)));
        if (i >= layer.length) {
          clearInterval(t);
          res.end();
        }
      }, 50);
    });
    const store = freshStore();
    const client = new RegistryClient({
      attempts: 1,
      http: { deadlineMs: 200, minBytesPerSecond: 1000, rateWindowMs: 200 },
    });
    await client.fetchBlob(
      parseReference(`${host}/app`),
      { mediaType: 'x', digest: sha256(layer) as Digest, size: layer.length },
      store,
    );
    expect(await store.has(sha256(layer))).toBe(true);
  });

  describe('manifest media types (containerd: the Content-Type decides)', () => {
    const withType =
      (type: string | undefined, body = manifest) =>
      (req: IncomingMessage, res: ServerResponse, path: string) => {
        if (path === '/v2/app/manifests/latest') {
          res.writeHead(200, {
            ...(type !== undefined ? { 'content-type': type } : {}),
            'content-length': String(body.length),
          });
          return void res.end(req.method === 'HEAD' ? undefined : body);
        }
        if (path === `/v2/app/blobs/${sha256(config)}`) return void res.end(config);
        res.writeHead(404).end();
      };

    test.each([
      ['application/json', /gives media type "application\/json", which is not a manifest or index type/],
      [undefined, /gives no media type/],
      ['application/octet-stream', /gives media type "application\/octet-stream"/],
      ['text/plain', /schema 1/],
    ])(
      'Content-Type %s is refused naming the registry, even for a document that says it is an OCI manifest; nothing is stored',
      async (type, message) => {
        const host = await serve(withType(type));
        const store = freshStore();
        const err = await failure(new RegistryClient().resolve(parseReference(`${host}/app`), platform, store));
        expect(err.message).toMatch(message);
        if (type !== 'text/plain') expect(err.message).toContain(`registry ${host}`);
        expect(await blobFiles(store)).toEqual([]);
      },
    );

    test('parameters are ignored, as containerd strips them: "…manifest.v1+json; charset=utf-8" is a manifest', async () => {
      const host = await serve(withType(`${OCI_MANIFEST}; charset=utf-8`));
      const r = await new RegistryClient().resolve(parseReference(`${host}/app`), platform, freshStore());
      expect(r.manifestDescriptor.mediaType).toBe(OCI_MANIFEST);
    });

    test('a document without its own mediaType is taken as the Content-Type says', async () => {
      const body = Buffer.from(JSON.stringify(manifestDoc(false)));
      const host = await serve(withType('application/vnd.docker.distribution.manifest.v2+json', body));
      const r = await new RegistryClient().resolve(parseReference(`${host}/app`), platform, freshStore());
      expect(r.manifestDescriptor.mediaType).toBe('application/vnd.docker.distribution.manifest.v2+json');
    });

    test('a Content-Type that the document contradicts (an index sent as a manifest) is refused', async () => {
      const index = Buffer.from(
        JSON.stringify({ schemaVersion: 2, mediaType: 'application/vnd.oci.image.index.v1+json', manifests: [] }),
      );
      const host = await serve(withType(OCI_MANIFEST, index));
      const err = await failure(new RegistryClient().resolve(parseReference(`${host}/app`), platform, freshStore()));
      expect(err.message).toMatch(
        /sent as application\/vnd\.oci\.image\.manifest\.v1\+json, but the document is an index/,
      );
    });
  });

  test(`a manifest bigger than ${MANIFEST_MAX_BYTES} bytes (containerd's limit) is refused from its Content-Length, before reading it`, async () => {
    let written = 0;
    const host = await serve((_req, res, path) => {
      if (path !== '/v2/app/manifests/latest') return void res.writeHead(404).end();
      res.writeHead(200, { 'content-type': OCI_MANIFEST, 'content-length': String(64 << 20) });
      const chunk = Buffer.alloc(64 << 10, ' ');
      const pump = () => {
        while (!res.destroyed && written < 64 << 20) {
          written += chunk.length;
          if (!res.write(chunk)) return void res.once('drain', pump);
        }
      };
      pump();
    });
    const err = await failure(new RegistryClient().resolve(parseReference(`${host}/app`), platform, freshStore()));
    expect(err.message).toContain(
      `registry ${host} sent a manifest of ${64 << 20} bytes; the limit is ${MANIFEST_MAX_BYTES}`,
    );
    expect(written).toBeLessThan(32 << 20);
  });

  test('…and without a Content-Length, refused once it passes the limit', async () => {
    const host = await serve((_req, res, path) => {
      if (path !== '/v2/app/manifests/latest') return void res.writeHead(404).end();
      res.writeHead(200, { 'content-type': OCI_MANIFEST });
      const chunk = Buffer.alloc(64 << 10, ' ');
      const pump = () => {
        while (!res.destroyed) if (!res.write(chunk)) return void res.once('drain', pump);
      };
      pump();
    });
    const err = await failure(new RegistryClient().resolve(parseReference(`${host}/app`), platform, freshStore()));
    expect(err.message).toContain(`registry ${host} sent a manifest of more than ${MANIFEST_MAX_BYTES} bytes`);
  });
});
