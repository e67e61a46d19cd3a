import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { Digest } from '../image/types.js';
import { StatePaths } from '../store/state-paths.js';
import { parseReference } from './reference.js';
import { readTagPin, TagPins, tagPinPath, writeTagPin } from './tag-pins.js';

const digest = (c: string) => `sha256:${c.repeat(64)}` as Digest;
const amd64 = { os: 'linux', architecture: 'amd64' };
let root: string;
beforeEach(async () => {
  root = await mkdtemp(join(tmpdir(), 'tsbuild-pins-'));
});
afterEach(() => rm(root, { recursive: true, force: true }));

describe('tag pins', () => {
  it('live in StatePaths.resolvedTags, one per reference and platform', async () => {
    const ref = parseReference('alpine:3.19');
    const path = tagPinPath(root, ref, amd64);
    expect(dirname(path)).toBe(new StatePaths(root).resolvedTags);
    expect(tagPinPath(root, ref, { ...amd64, architecture: 'arm64' })).not.toBe(path);
    const pin = { ref: 'alpine:3.19', platform: amd64, digest: digest('a'), resolvedAt: 'now' };
    await writeTagPin(path, pin);
    expect(await readTagPin(path)).toEqual(pin);
  });

  it('list the manifests they pin, skipping what is no pin', async () => {
    const pins = new TagPins(new StatePaths(root).resolvedTags);
    expect(await pins.pinnedManifests()).toEqual([]);
    for (const [name, d] of [
      ['alpine', digest('a')],
      ['debian', digest('b')],
    ] as const) {
      await writeTagPin(tagPinPath(root, parseReference(name), amd64), {
        ref: name,
        platform: amd64,
        digest: d,
        resolvedAt: 'now',
      });
    }
    await writeFile(join(pins.dir, 'torn.json'), '{"digest":"sha2');
    await writeFile(join(pins.dir, 'bad.json'), JSON.stringify({ digest: 'sha256:../x' }));
    expect((await pins.pinnedManifests()).sort()).toEqual([digest('a'), digest('b')]);
  });
});
