import { describe, expect, it } from 'vitest';
import { buildImage, type ImageInput, type ImageLayerInput } from './image-builder.js';
import { MediaType, type Descriptor, type DiffId, type Digest, type HistoryEntry } from './types.js';

const d = (n: number) => `sha256:${String(n).repeat(64).slice(0, 64)}`;
function layer(n: number, opts: { fromBase?: boolean; mediaType?: string } = {}): ImageLayerInput {
  return {
    descriptor: { mediaType: opts.mediaType ?? MediaType.ociLayerGzip, digest: d(n) as Digest, size: 100 + n },
    diffId: `sha256:diff${n}` as DiffId,
  };
}
const h = (createdBy: string, empty = false): HistoryEntry =>
  empty ? { created_by: createdBy, empty_layer: true } : { created_by: createdBy };
const configDesc: Descriptor = { mediaType: MediaType.ociConfig, digest: d(9) as Digest, size: 9 };

function input(layers: ImageLayerInput[], history: HistoryEntry[], over: Partial<ImageInput> = {}): ImageInput {
  return { architecture: 'amd64', os: 'linux', config: { Cmd: ['sh'] }, history, layers, ...over };
}

describe('buildImage', () => {
  it('writes the config with diff_ids in layer order', () => {
    const { config } = buildImage(
      input(
        [layer(1, { fromBase: true }), layer(2), layer(3)],
        [h('base'), h('ENV A=1', true), h('RUN a'), h('COPY b')],
      ),
    );
    expect(config.architecture).toBe('amd64');
    expect(config.os).toBe('linux');
    expect(config.config).toEqual({ Cmd: ['sh'] });
    expect(config.rootfs).toEqual({ type: 'layers', diff_ids: ['sha256:diff1', 'sha256:diff2', 'sha256:diff3'] });
    expect(config.history).toEqual([h('base'), h('ENV A=1', true), h('RUN a'), h('COPY b')]);
  });

  it('keeps every layer, an empty one too (as BuildKit does), with history untouched', () => {
    const history = [h('base'), h('WORKDIR /x', true), h('RUN true'), h('COPY a b')];
    const { config, manifestFor } = buildImage(input([layer(1, { fromBase: true }), layer(2), layer(3)], history));
    expect(config.rootfs.diff_ids).toEqual(['sha256:diff1', 'sha256:diff2', 'sha256:diff3']);
    expect(config.history).toEqual(history);
    expect(manifestFor(configDesc).layers.map((l) => l.digest)).toEqual([d(1), d(2), d(3)]);
  });

  it('adds history for base layers that had none, so history lines up with diff_ids', () => {
    const { config } = buildImage(
      input([layer(1, { fromBase: true }), layer(2, { fromBase: true }), layer(3)], [h('RUN true')]),
    );
    expect(config.rootfs.diff_ids).toHaveLength(3);
    expect(config.history).toEqual([h(''), h(''), h('RUN true')]);
  });

  it('the manifest maps Docker layer media types to OCI ones', () => {
    const layers = [
      layer(1, { fromBase: true, mediaType: MediaType.dockerLayerGzip }),
      layer(2, { fromBase: true, mediaType: MediaType.dockerForeignLayerGzip }),
      layer(3, { fromBase: true, mediaType: MediaType.dockerLayerTar }),
      layer(4, { fromBase: true, mediaType: MediaType.ociLayerZstd }),
      layer(5, { mediaType: MediaType.ociLayerGzip }),
    ];
    const m = buildImage(input(layers, [h('1'), h('2'), h('3'), h('4'), h('5')])).manifestFor(configDesc);
    expect(m.schemaVersion).toBe(2);
    expect(m.mediaType).toBe(MediaType.ociManifest);
    expect(m.config).toBe(configDesc);
    expect(m.layers).toEqual([
      { mediaType: MediaType.ociLayerGzip, digest: d(1), size: 101 },
      { mediaType: MediaType.ociLayerGzip, digest: d(2), size: 102 },
      { mediaType: MediaType.ociLayerTar, digest: d(3), size: 103 },
      { mediaType: MediaType.ociLayerZstd, digest: d(4), size: 104 },
      { mediaType: MediaType.ociLayerGzip, digest: d(5), size: 105 },
    ]);
  });

  it('sets created on the config and on history entries lacking it', () => {
    const { config } = buildImage(
      input([layer(1)], [{ created: '2000-01-01T00:00:00Z', created_by: 'old' }, h('new', true)], {
        created: '2024-05-06T07:08:09Z',
      }),
    );
    expect(config.created).toBe('2024-05-06T07:08:09Z');
    expect(config.history!.map((e) => e.created)).toEqual(['2000-01-01T00:00:00Z', '2024-05-06T07:08:09Z']);
  });

  it('omits created, author and variant unless given', () => {
    const plain = buildImage(input([], [])).config;
    expect('created' in plain).toBe(false);
    expect('author' in plain).toBe(false);
    expect('variant' in plain).toBe(false);
    const full = buildImage(input([], [], { author: 'me', variant: 'v8', architecture: 'arm64' })).config;
    expect(full).toMatchObject({ author: 'me', variant: 'v8', architecture: 'arm64' });
  });
});
