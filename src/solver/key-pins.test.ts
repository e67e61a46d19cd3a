/**
 * Cache keys are what existing records are found by: the op contract (op-kind.ts) must give
 * every op kind the very key it had before. These were computed on the solver before the
 * contract, and pin each kind's key parts (image: the manifest only; exec: without its proxy
 * variables, with its context bind mounts' content; copy: with its sources' content).
 */
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { Vertex } from './graph.js';
import type { SolveContext } from './ops/op-context.js';
import { Solver } from './solve.js';

async function keysOf(vertices: Vertex[]): Promise<string[]> {
  const contextDir = await mkdtemp(join(tmpdir(), 'key-pins-'));
  await writeFile(join(contextDir, 'a.txt'), 'hello\n');
  const ctx = {
    contextDir,
    ignore: { isIgnored: () => false },
    records: { get: async () => undefined },
    snapshots: { exists: async () => true },
    emit: () => {},
  } as unknown as SolveContext;
  const solver = new Solver(ctx);
  return Promise.all(vertices.map(async (v) => (await solver.keyOf(v)).key));
}

const scratch: Vertex = { id: 'v0', op: { type: 'scratch' }, inputs: [], name: 'scratch', stage: '' };
const image: Vertex = {
  id: 'v1',
  op: {
    type: 'image',
    ref: 'docker.io/library/busybox:latest',
    manifestDigest: 'sha256:1111111111111111111111111111111111111111111111111111111111111111',
    layers: [
      {
        descriptor: {
          mediaType: 'application/vnd.oci.image.layer.v1.tar+gzip',
          digest: 'sha256:2222222222222222222222222222222222222222222222222222222222222222',
          size: 10,
        },
        diffId: 'sha256:3333333333333333333333333333333333333333333333333333333333333333',
      },
    ],
    origin: { kind: 'registry', ref: 'docker.io/library/busybox:latest' },
  } as Vertex['op'],
  inputs: [],
  name: 'FROM busybox',
  stage: '0',
};
const exec = (over: object, input: Vertex): Vertex => ({
  id: `e${JSON.stringify(over).length}`,
  op: {
    type: 'exec',
    args: ['/bin/sh', '-c', 'make'],
    env: ['PATH=/bin'],
    cwd: '/',
    user: '',
    network: 'host',
    ...over,
  },
  inputs: [input],
  name: 'RUN make',
  stage: '0',
});
const mkdir: Vertex = {
  id: 'm',
  op: { type: 'mkdir', path: '/w', mode: 0o755 },
  inputs: [image],
  name: 'WORKDIR',
  stage: '0',
};
const copy: Vertex = {
  id: 'c',
  op: {
    type: 'copy',
    sources: [
      { kind: 'context', paths: ['a.txt'] },
      { kind: 'inline', name: 'x', content: 'y' },
      { kind: 'url', url: 'https://example.invalid/f', filename: 'f', checksum: 'sha256:ab', unpack: false },
    ],
    dest: '/app/',
    exclude: [],
    preserveOwner: false,
    cwd: '/',
  },
  inputs: [mkdir],
  name: 'COPY',
  stage: '0',
};

describe('cache keys', () => {
  it('are the ones each op kind had before the op contract', async () => {
    const keys = await keysOf([
      scratch,
      image,
      mkdir,
      exec({}, image),
      exec({ proxyEnv: ['HTTP_PROXY=http://p'] }, image),
      exec({ mounts: [{ type: 'bind', target: '/src', source: 'a.txt', readonly: true }] }, mkdir),
      copy,
    ]);
    expect(keys).toEqual([
      '041bb79cbee8cb2c906db412132cc230df5ede057d2b00b02d60b98e37cdf26c',
      '216423a0e14e87bda64b3512794f0a5f3385b6f973be7007d439e2299211497a',
      '3081f514248c84517be20eaebd39bfabf75b745fc8604a262f96eb2d117e2198',
      '13de61839b906fc63e551325d90f420d588fca706c63f5b4c9a663a5afc610ec',
      '13de61839b906fc63e551325d90f420d588fca706c63f5b4c9a663a5afc610ec',
      'c5eab44c0e9e5cdba9aebc5df8040fbd9f5cee1f0b73196a618beec605954eb5',
      '91caf491085928768b6823a1aef7e9cd432d8c5e8eeab7f40d1aaf0e2846e79d',
    ]);
  });
});
