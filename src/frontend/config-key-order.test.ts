import { describe, expect, it } from 'vitest';
import { fakeBaseResolver } from '../../test/helpers/fake-base-image.js';
import { convertDockerfile } from './convert.js';

const resolveImage = fakeBaseResolver();

/**
 * The config's JSON is hashed into the image ID: the order of its keys is part of every digest
 * tsbuild makes. Pinned here (fixtures/features' shape), because a change that only assigns a key
 * earlier (`OnBuild` once moved up this way) changes every image that has the key.
 */
describe('image config key order', () => {
  it('a stage on a stage with ONBUILD: keys in the order the instructions set them, OnBuild where ONBUILD put it', async () => {
    const plan = await convertDockerfile({
      file: 'Dockerfile',
      source: [
        'FROM busybox AS base',
        'ENV A=1',
        'CMD ["x"]',
        'LABEL l=1',
        'WORKDIR /w',
        'USER 0',
        'ONBUILD RUN echo triggered',
        'FROM base AS final',
        'ENTRYPOINT ["/bin/sh"]',
        '',
      ].join('\n'),
      buildArgs: new Map(),
      resolveImage,
    });
    expect(Object.keys(plan.image.config)).toEqual([
      'Env',
      'Cmd',
      'Labels',
      'WorkingDir',
      'User',
      'OnBuild',
      'Entrypoint',
    ]);
    expect(plan.image.config.OnBuild).toBeNull();
  });
});
