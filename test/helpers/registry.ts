/**
 * A throwaway CNCF distribution registry (Debian's `docker-registry`) on a free 127.0.0.1 port,
 * for tests that pull or push over the real distribution API.
 *
 *   const reg = await startRegistry();
 *   await reg.push(layoutDir, 'latest', 'test/busybox:latest');
 *   ... `${reg.host}/test/busybox:latest` ...
 *   await reg.stop();
 */
import { spawn, execFile } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

export interface TestRegistry {
  /** `127.0.0.1:PORT`, as it appears in image references. */
  host: string;
  port: number;
  /** `http://127.0.0.1:PORT` */
  url: string;
  /** The registry's temp directory (config and storage); removed by stop(). */
  root: string;
  /** Copies `layout:tag` (an OCI layout) to `repoAndTag` (e.g. `test/busybox:latest`) in this registry. */
  push(layout: string, tag: string, repoAndTag: string, opts?: { all?: boolean }): Promise<void>;
  stop(): Promise<void>;
}

/** A port the kernel says is free right now (another process could still take it before we bind). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.unref();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address();
      srv.close(() => (typeof addr === 'object' && addr ? resolve(addr.port) : reject(new Error('no port'))));
    });
  });
}

export async function startRegistry(): Promise<TestRegistry> {
  let lastError: unknown;
  // a free port can be taken between freePort() and the registry's bind; try a few
  for (let i = 0; i < 3; i++) {
    try {
      return await startOnce(await freePort());
    } catch (err) {
      lastError = err;
    }
  }
  throw lastError;
}

async function startOnce(port: number): Promise<TestRegistry> {
  const root = await mkdtemp(join(tmpdir(), 'tsbuild-registry-'));
  const config = join(root, 'config.yml');
  await writeFile(
    config,
    [
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
      '',
    ].join('\n'),
  );
  const child = spawn('docker-registry', ['serve', config], { stdio: ['ignore', 'pipe', 'pipe'] });
  let log = '';
  child.stdout.on('data', (d: Buffer) => (log += d.toString()));
  child.stderr.on('data', (d: Buffer) => (log += d.toString()));
  let exited = false;
  const exit = new Promise<void>((resolve) => child.once('exit', () => ((exited = true), resolve())));
  child.once('error', (err) => (log += `spawn error: ${err.message}\n`));

  const url = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + 15_000;
  for (;;) {
    if (exited) {
      await rm(root, { recursive: true, force: true });
      throw new Error(`docker-registry exited before serving on ${url}:\n${log}`);
    }
    try {
      const res = await fetch(`${url}/v2/`);
      await res.body?.cancel();
      if (res.status === 200) break;
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) {
      child.kill('SIGKILL');
      await exit;
      await rm(root, { recursive: true, force: true });
      throw new Error(`docker-registry did not answer on ${url} within 15s:\n${log}`);
    }
    await new Promise((r) => setTimeout(r, 50));
  }

  const host = `127.0.0.1:${port}`;
  return {
    host,
    port,
    url,
    root,
    async push(layout, tag, repoAndTag, opts = {}) {
      await skopeoCopy(`oci:${layout}:${tag}`, `docker://${host}/${repoAndTag}`, opts.all ? ['--all'] : []);
    },
    async stop() {
      if (!exited) {
        child.kill('SIGTERM');
        const timer = setTimeout(() => child.kill('SIGKILL'), 5_000);
        await exit;
        clearTimeout(timer);
      }
      await rm(root, { recursive: true, force: true });
    },
  };
}

/** `skopeo copy` with TLS verification off on both sides (test registries speak plain HTTP). */
export async function skopeoCopy(src: string, dest: string, extraArgs: string[] = []): Promise<void> {
  await run('skopeo', ['copy', '--quiet', '--src-tls-verify=false', '--dest-tls-verify=false', ...extraArgs, src, dest], { maxBuffer: 16 << 20 });
}
