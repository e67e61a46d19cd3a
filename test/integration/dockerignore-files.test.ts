import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { FROM_BASE, makeFixture, runCli, type Fixture } from '../helpers/build-fixture.js';

/** `<Dockerfile>.dockerignore` beside the Dockerfile wins over the context's `.dockerignore` (BuildKit). */
describe('Dockerfile-specific .dockerignore', () => {
  let fx: Fixture;
  afterAll(async () => fx?.cleanup());

  it('uses build/app.Dockerfile.dockerignore instead of .dockerignore for -f build/app.Dockerfile', async () => {
    fx = await makeFixture({ 'a.txt': 'a', 'b.txt': 'b', '.dockerignore': 'a.txt\n' });
    await mkdir(join(fx.dir, 'build'));
    const dockerfile = join(fx.dir, 'build', 'app.Dockerfile');
    await writeFile(dockerfile, `FROM ${FROM_BASE}\nCOPY . /ctx/\n`);
    await writeFile(`${dockerfile}.dockerignore`, 'b.txt\n');
    const res = await runCli(
      ['--progress=plain', '-t', 'x:1', '-f', dockerfile, '-o', `type=oci,dest=${fx.archive}`, fx.context],
      { env: { TSBUILD_ROOT: fx.stateRoot } },
    );
    expect(res.exitCode, res.stderr).toBe(0);
    const img = await fx.unpack();
    expect(await img.exists('/ctx/a.txt')).toBe(true);
    expect(await img.exists('/ctx/b.txt')).toBe(false);
    // without -f, the context's own .dockerignore applies
    await writeFile(join(fx.context, 'Dockerfile'), `FROM ${FROM_BASE}\nCOPY . /ctx/\n`);
    const plain = await fx.build();
    expect(plain.exitCode, plain.stderr).toBe(0);
    const img2 = await fx.unpack();
    expect(await img2.exists('/ctx/a.txt')).toBe(false);
    expect(await img2.exists('/ctx/b.txt')).toBe(true);
  });
});
