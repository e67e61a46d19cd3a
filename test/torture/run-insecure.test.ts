/**
 * RUN --security=insecure: refused without --allow security.insecure (BuildKit's words, at the
 * RUN's line, before anything runs); with it, no seccomp, every capability, mounts work; and a
 * step run insecure is a different step from the same command sandboxed.
 */
import { readFileSync } from 'node:fs';
import { afterEach, describe, expect, it } from 'vitest';
import { FROM_BASE, makeFixture, type Fixture } from '../helpers/build-fixture.js';

const ownCapEff = /^CapEff:\s*([0-9a-f]+)$/m.exec(readFileSync('/proc/self/status', 'utf8'))![1];

describe('RUN --security=insecure', () => {
  let fx: Fixture | undefined;
  afterEach(async () => {
    await fx?.cleanup();
    fx = undefined;
  });

  it('needs --allow security.insecure', async () => {
    fx = await makeFixture({
      Dockerfile: `FROM ${FROM_BASE}\nRUN echo sandboxed\nRUN --security=insecure echo insecure > /ran\n`,
    });
    const res = await fx.build();
    expect(res.exitCode).toBe(1);
    expect(res.stderr).toMatch(/Dockerfile:3:\d+: .*security\.insecure is not allowed/);
    expect(res.stderr).toMatch(/--allow security\.insecure/);
    // checked before anything runs, as BuildKit validates entitlements before solving
    expect(res.stdout + res.stderr).not.toMatch(/^#\d+ [\d.]+ sandboxed$/m);
  }, 60_000);

  it('with it: no seccomp, every capability this process has, mount allowed; its own cache key', async () => {
    fx = await makeFixture({
      Dockerfile: [
        `FROM ${FROM_BASE}`,
        'RUN --security=insecure grep -E "^(Seccomp|CapEff|CapBnd):" /proc/self/status > /status && mount -t tmpfs t /tmp && echo mounted > /mounted',
        'RUN --security=sandbox echo same > /same',
        '',
      ].join('\n'),
    });
    const res = await fx.build(['--allow', 'security.insecure']);
    expect(res.exitCode, res.stderr).toBe(0);
    const img = await fx.unpack();
    const status = await img.read('/status');
    expect(status).toMatch(/^Seccomp:\t0$/m);
    expect(status).toMatch(new RegExp(`^CapEff:\\t${ownCapEff}$`, 'm'));
    expect(status).toMatch(new RegExp(`^CapBnd:\\t${ownCapEff}$`, 'm'));
    expect((await img.read('/mounted')).trim()).toBe('mounted');

    // the same commands with the other security mode are other steps: not taken from the cache
    const { writeFile } = await import('node:fs/promises');
    await writeFile(
      `${fx.context}/Dockerfile`,
      [
        `FROM ${FROM_BASE}`,
        'RUN grep -E "^(Seccomp|CapEff|CapBnd):" /proc/self/status > /status && mount -t tmpfs t /tmp && echo mounted > /mounted',
        'RUN echo same > /same',
        '',
      ].join('\n'),
    );
    const again = await fx.build(['--allow', 'security.insecure']);
    expect(again.exitCode).toBe(1); // sandboxed, mount is denied: the step really ran again
    expect(again.stderr).toMatch(/permission denied|not permitted/i);
  }, 60_000);
});
