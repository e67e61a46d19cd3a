/**
 * Ctrl-C while a push names the image in the registry. The tag PUT is the push's last, atomic
 * step and cannot be taken back once the registry has it, so it is seen through; the build then
 * puts every other output in place too (all or nothing: never a tag without the archive beside
 * it, never an exit 130 that left a tag). A proxy in front of the registry holds the tag PUT until
 * the interrupt has been sent, which the torture suite can only hit by chance.
 */
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer, request, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort } from '../helpers/ports.js';
import { startRegistry, type TestRegistry } from '../helpers/registry.js';
import { startCli } from '../torture/lib/child.js';

const hasRegistry = spawnSync('sh', ['-c', 'command -v docker-registry'], { stdio: 'ignore' }).status === 0;

let dir: string;
let reg: TestRegistry | undefined;
let proxy: Server | undefined;
let proxyPort = 0;
/** Resolves when the tag PUT arrives; resolving `release` lets it through. */
let tagArrived: () => void = () => {};
let release: Promise<void> = Promise.resolve();

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'tsbuild-tag-interrupt-'));
  if (!hasRegistry) return;
  reg = await startRegistry();
  proxyPort = await freePort();
  proxy = createServer((req, res) => {
    const forward = (): void => {
      const up = request(
        { host: '127.0.0.1', port: reg!.port, path: req.url, method: req.method, headers: req.headers },
        (upRes) => {
          res.writeHead(upRes.statusCode ?? 502, upRes.headers);
          upRes.pipe(res);
        },
      );
      up.on('error', () => res.destroy());
      req.pipe(up);
    };
    if (req.method === 'PUT' && /\/manifests\/latest$/.test(req.url ?? '')) {
      tagArrived();
      void release.then(forward);
    } else forward();
  });
  await new Promise<void>((r) => proxy!.listen(proxyPort, '127.0.0.1', r));
});
afterAll(async () => {
  proxy?.close();
  await reg?.stop();
  if (dir) await rm(dir, { recursive: true, force: true });
});

async function tagged(): Promise<boolean> {
  const res = await fetch(`${reg!.url}/v2/held/manifests/latest`, {
    method: 'HEAD',
    headers: { accept: 'application/vnd.oci.image.manifest.v1+json' },
  });
  return res.status === 200;
}

describe('Ctrl-C while the push names the image', () => {
  it('sees the tag through and puts the other outputs in place: exit 0, all of it there', async (ctx) => {
    if (!reg) {
      ctx.skip('docker-registry is not installed here: skipped');
      return;
    }
    const arrived = new Promise<void>((r) => {
      tagArrived = r;
    });
    let letGo: () => void = () => {};
    release = new Promise<void>((r) => {
      letGo = r;
    });
    const host = `127.0.0.1:${proxyPort}`;
    const dest = join(dir, 'image.tar');
    const child = startCli(
      ['--progress=plain', '-t', `${host}/held:latest`, '--push', '-o', `type=oci,dest=${dest}`, 'fixtures/demo'],
      { env: { TSBUILD_ROOT: join(dir, 'state') } },
    );
    await Promise.race([arrived, child.result]);
    expect(child.exited, 'the build ended before its push named the image').toBe(false);
    expect(child.signal('SIGINT')).toBe(true);
    await new Promise((r) => setTimeout(r, 300));
    letGo();
    const r = await child.result;
    expect(r.exitCode, r.stderr).toBe(0);
    expect(await tagged()).toBe(true);
    expect(existsSync(dest)).toBe(true);
  }, 120_000);
});
