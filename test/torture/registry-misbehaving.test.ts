/**
 * A misbehaving registry on 127.0.0.1 (test/helpers/misbehaving-registry.ts), one mode at a time:
 * each build against it fails with exit 1 (never 70, never a hang) in bounded time, says which
 * registry and what went wrong, keeps nothing unverified in the state dir, and the next build
 * against the same registry behaving well works from that state dir.
 *
 * The time limits are shortened through TSBUILD_REGISTRY_TIMEOUTS so the slow modes end fast.
 */
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BASE_LAYOUT, makeFixture } from '../helpers/build-fixture.js';
import {
  MISBEHAVIOURS,
  startMisbehavingRegistry,
  type MisbehavingRegistry,
  type Mode,
} from '../helpers/misbehaving-registry.js';

// The fixture base is made on each machine (fixtures/base/make-busybox-layout.sh): its layer is
// reproducible, its manifest (config timestamps) is not, so both are read from the layout.
const baseIndex = JSON.parse(readFileSync(join(BASE_LAYOUT, 'index.json'), 'utf8')) as {
  manifests: { digest: string }[];
};
const MANIFEST = baseIndex.manifests[0]!.digest;
const baseManifest = JSON.parse(readFileSync(join(BASE_LAYOUT, 'blobs', ...MANIFEST.split(':')), 'utf8')) as {
  layers: { digest: string }[];
};
const LAYER = baseManifest.layers[0]!.digest;
const TIMEOUTS = 'request=1,headers=2,idle=2,min-rate=1000,rate-window=1';

/** What the error must say, beyond naming the registry. */
const EXPECTED: Record<Exclude<Mode, 'good'>, RegExp> = {
  'blob-digest': new RegExp(`digest mismatch in blob ${LAYER}`),
  'manifest-digest': new RegExp(`digest mismatch for .*asked for ${MANIFEST}`),
  truncated: new RegExp(`blob ${LAYER} .*(connection reset|size mismatch)|size mismatch in blob ${LAYER}`),
  reset: new RegExp(`blob ${LAYER} .*connection reset`),
  '401-loop': /pull access denied for .*\n.*answered: UNAUTHORIZED: authentication required/,
  'slow-manifest': /is too slow: manifest of .*: the answer took longer than 1s/,
  'slow-blob': new RegExp(`is too slow: blob ${LAYER} of .*below the minimum of 1000 B/s`),
  'huge-manifest': /sent a manifest of 67108864 bytes; the limit is 4393216/,
  'huge-manifest-chunked': /sent a manifest of more than 4393216 bytes/,
  'wrong-type': /gives media type "application\/json", which is not a manifest or index type/,
  'no-type': /gives no media type, which is not a manifest or index type/,
  '500': /failed to serve manifest of .*: 500 Internal Server Error\n.*it broke/,
  'redirect-loop': /redirected manifest of .* too many times/,
};

/** Every blob in the store hashes to its name, and no half-ingested file is left. */
async function checkStateDir(stateRoot: string): Promise<void> {
  const blobsDir = join(stateRoot, 'content', 'blobs', 'sha256');
  for (const name of await readdir(blobsDir).catch(() => [])) {
    const hex = createHash('sha256')
      .update(await readFile(join(blobsDir, name)))
      .digest('hex');
    expect(hex, `blob ${name} in the state dir`).toBe(name);
  }
  const ingest = (await readdir(join(stateRoot, 'content', 'ingest')).catch(() => [])).filter(
    (f) => !f.endsWith('.lock'),
  );
  expect(ingest, 'files left in content/ingest').toEqual([]);
}

describe('builds against a misbehaving registry', () => {
  let reg: MisbehavingRegistry;
  const report: string[] = [];

  beforeAll(async () => {
    reg = await startMisbehavingRegistry(BASE_LAYOUT);
  });
  afterAll(async () => {
    await reg?.stop();
    console.log(`registry modes (mode: exit, seconds, first error line):\n${report.join('\n')}`);
  });

  it.each(MISBEHAVIOURS)(
    '%s: exit 1 naming the registry and the problem, nothing unverified kept, then a good build',
    async (mode) => {
      const fx = await makeFixture({ Dockerfile: `FROM ${reg.host}/torture/${mode}:1\nENV MODE=${mode}\n` });
      try {
        reg.mode = mode;
        const started = Date.now();
        const before = reg.seen.length;
        const bad = await fx.build([], { env: { TSBUILD_REGISTRY_TIMEOUTS: TIMEOUTS } });
        const seconds = (Date.now() - started) / 1000;
        const error = bad.stderr.split('\n').find((l) => l.startsWith('error:')) ?? '(no error line)';
        report.push(
          `  ${mode}: exit ${bad.exitCode}, ${seconds.toFixed(1)} s, ${reg.seen.length - before} requests, ${error}`,
        );
        expect(bad.exitCode, bad.stderr).toBe(1);
        expect(bad.stderr).not.toMatch(/internal error|this is a bug/);
        expect(bad.stderr).toContain(reg.host);
        expect(bad.stderr).toMatch(EXPECTED[mode]);
        expect(seconds, 'seconds to fail').toBeLessThan(20);
        await checkStateDir(fx.stateRoot);

        reg.mode = 'good';
        const good = await fx.build([], { env: { TSBUILD_REGISTRY_TIMEOUTS: TIMEOUTS } });
        expect(good.exitCode, good.stderr).toBe(0);
        await checkStateDir(fx.stateRoot);
      } finally {
        reg.mode = 'good';
        await fx.cleanup();
      }
    },
    40_000,
  );
});
