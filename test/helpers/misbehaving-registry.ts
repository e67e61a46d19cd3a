/**
 * A registry on 127.0.0.1 that serves one image (an OCI layout, under an index, at any
 * `repo:tag`) and misbehaves in one chosen way at a time, for the torture tests: the mode can be
 * changed between builds, and `good` serves everything right.
 *
 *   const reg = await startMisbehavingRegistry(BASE_LAYOUT);
 *   reg.mode = 'truncated';
 *   ... FROM ${reg.host}/any/name:tag ...
 *   reg.mode = 'good';
 *   await reg.stop();
 */
import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { join } from 'node:path';

export const MISBEHAVIOURS = [
  'blob-digest', // the layer's bytes differ from its digest (same size)
  'manifest-digest', // the manifest the index names comes with other bytes
  'truncated', // the layer stops halfway and the connection closes cleanly, every time
  'reset', // the connection is reset halfway through the layer, every time
  '401-loop', // every request is 401; the token service hands out tokens the registry never takes
  'slow-manifest', // the manifest at one byte a second
  'slow-blob', // the layer at one byte a second
  'huge-manifest', // a 64 MiB "manifest" with its Content-Length
  'huge-manifest-chunked', // an endless "manifest" without a Content-Length
  'wrong-type', // the tag's manifest as application/json (as some registries send schema 1 or OCI)
  'no-type', // the tag's manifest without a Content-Type
  '500', // 500 Internal Server Error for everything, forever
  'redirect-loop', // the manifest redirects to itself
] as const;

export type Mode = 'good' | (typeof MISBEHAVIOURS)[number];

export interface MisbehavingRegistry {
  host: string;
  mode: Mode;
  /** Requests answered so far, in any mode. */
  requests: number;
  /** `METHOD path` of each request, for tests that count retries. */
  seen: string[];
  stop(): Promise<void>;
}

const sha256 = (b: Buffer) => `sha256:${createHash('sha256').update(b).digest('hex')}`;

export async function startMisbehavingRegistry(layout: string): Promise<MisbehavingRegistry> {
  const layoutIndex = JSON.parse(await readFile(join(layout, 'index.json'), 'utf8')) as {
    manifests: { digest: string; mediaType: string }[];
  };
  const top = layoutIndex.manifests[0]!;
  const blob = (digest: string) => readFile(join(layout, 'blobs', 'sha256', digest.slice('sha256:'.length)));
  const manifest = await blob(top.digest);
  const layerDigest = (JSON.parse(manifest.toString()) as { layers: { digest: string }[] }).layers[0]!.digest;
  const blobs = new Map<string, Buffer>();
  for (const d of [
    top.digest,
    layerDigest,
    (JSON.parse(manifest.toString()) as { config: { digest: string } }).config.digest,
  ])
    blobs.set(d, await blob(d));
  const index = Buffer.from(
    JSON.stringify({
      schemaVersion: 2,
      mediaType: 'application/vnd.oci.image.index.v1+json',
      manifests: [
        {
          mediaType: top.mediaType,
          digest: top.digest,
          size: manifest.length,
          platform: { architecture: 'amd64', os: 'linux' },
        },
      ],
    }),
  );
  const layer = blobs.get(layerDigest)!;
  const corruptLayer = Buffer.from(layer);
  corruptLayer[corruptLayer.length >> 1]! ^= 0xff;

  const sockets = new Set<Socket>();
  const timers = new Set<NodeJS.Timeout>();
  const reg: MisbehavingRegistry = { host: '', mode: 'good', requests: 0, seen: [], stop: async () => {} };

  const trickle = (res: ServerResponse, body: Buffer) => {
    res.flushHeaders();
    let i = 0;
    const t = setInterval(() => {
      if (res.destroyed || i >= body.length) {
        clearInterval(t);
        timers.delete(t);
        if (!res.destroyed) res.end();
        return;
      }
      res.write(body.subarray(i, ++i));
    }, 1000);
    timers.add(t);
  };
  const endless = (res: ServerResponse) => {
    const chunk = Buffer.alloc(64 << 10, ' ');
    let sent = 0;
    const pump = () => {
      while (!res.destroyed && sent < 64 << 20) {
        sent += chunk.length;
        if (!res.write(chunk)) return void res.once('drain', pump);
      }
      if (!res.destroyed) res.end();
    };
    pump();
  };

  const handle = (req: IncomingMessage, res: ServerResponse): void => {
    reg.requests++;
    const mode = reg.mode;
    const path = new URL(req.url!, 'http://x').pathname;
    reg.seen.push(`${req.method} ${path}`);
    if (mode === '500')
      return void res
        .writeHead(500, { 'content-type': 'application/json' })
        .end('{"errors":[{"code":"UNKNOWN","message":"it broke"}]}');
    if (path === '/token')
      return void res
        .writeHead(200, { 'content-type': 'application/json' })
        .end(JSON.stringify({ token: `never-good-${reg.requests}`, expires_in: 300 }));
    if (mode === '401-loop') {
      return void res
        .writeHead(401, {
          'www-authenticate': `Bearer realm="http://${reg.host}/token",service="misbehaving"`,
          'content-type': 'application/json',
        })
        .end('{"errors":[{"code":"UNAUTHORIZED","message":"authentication required"}]}');
    }
    if (path === '/v2/' || path === '/v2')
      return void res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
    const m = /^\/v2\/(.+)\/(manifests|blobs)\/([^/]+)$/.exec(path);
    if (!m) return void res.writeHead(404).end();
    const [, , kind, reference] = m as unknown as [string, string, string, string];
    const body = (b: Buffer, type?: string) => {
      res.writeHead(200, {
        ...(type ? { 'content-type': type } : {}),
        'content-length': String(b.length),
        'docker-content-digest': sha256(b),
      });
      res.end(req.method === 'HEAD' ? undefined : b);
    };

    if (kind === 'manifests') {
      if (mode === 'redirect-loop') return void res.writeHead(302, { location: req.url! }).end();
      // A tag is an index, except where the mode is about what a registry says of a tag's
      // manifest (an index entry's type comes from the index, whatever the Content-Type).
      if (!reference.startsWith('sha256:')) {
        if (mode === 'wrong-type') return void body(manifest, 'application/json');
        if (mode === 'no-type') return void body(manifest);
        return void body(index, 'application/vnd.oci.image.index.v1+json');
      }
      if (reference !== top.digest) return void res.writeHead(404).end();
      if (mode === 'manifest-digest')
        return void body(Buffer.from(manifest.toString().replace('{', '{ ')), top.mediaType);
      if (mode === 'slow-manifest') {
        res.writeHead(200, { 'content-type': top.mediaType, 'content-length': String(manifest.length) });
        return void trickle(res, manifest);
      }
      if (mode === 'huge-manifest' || mode === 'huge-manifest-chunked') {
        res.writeHead(200, {
          'content-type': top.mediaType,
          ...(mode === 'huge-manifest' ? { 'content-length': String(64 << 20) } : {}),
        });
        return void endless(res);
      }
      return void body(manifest, top.mediaType);
    }

    const data = blobs.get(reference);
    if (!data) return void res.writeHead(404).end();
    if (reference !== layerDigest || mode === 'good') return void body(data, 'application/octet-stream');
    if (mode === 'blob-digest') return void body(corruptLayer, 'application/octet-stream');
    res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': String(layer.length) });
    if (mode === 'slow-blob') return void trickle(res, layer);
    if (mode === 'truncated') return void res.write(layer.subarray(0, layer.length >> 1), () => res.socket?.end());
    if (mode === 'reset')
      return void res.write(layer.subarray(0, layer.length >> 1), () => res.socket?.resetAndDestroy());
    res.end(layer);
  };

  const server = createServer(handle);
  server.on('connection', (s) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  reg.host = `127.0.0.1:${(server.address() as AddressInfo).port}`;
  reg.stop = () => {
    for (const t of timers) clearInterval(t);
    for (const s of sockets) s.destroy();
    return new Promise((resolve) => server.close(() => resolve()));
  };
  return reg;
}
