import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FROM_BASE, makeFixture, runBundle, type Fixture, type UnpackedImage } from '../helpers/build-fixture.js';

/** One image exercising most instructions, checked file by file and field by field. */
describe('instructions in one image', () => {
  let fx: Fixture;
  let img: UnpackedImage;
  let log: string;

  beforeAll(async () => {
    fx = await makeFixture({
      Dockerfile:
        [
          'ARG BASE',
          `FROM \${BASE:-${FROM_BASE}}`,
          'ARG NAME=tsb',
          'ENV HOME_DIR=/home/app GREETING="hello world"',
          'LABEL a=1 "b c"="two words" name=${NAME}',
          'WORKDIR /srv/$NAME',
          'COPY files/ ./data/',
          'COPY --chown=app single.txt script.sh /opt/',
          'COPY link /opt/link',
          'RUN rm /etc/group && rm -rf /var/tmp && mkdir -p /var/tmp/new && echo "$GREETING from $NAME" > /hello.txt',
          'RUN ["/bin/sh", "-c", "id -u > /srv/uid-root.txt"]',
          'USER app',
          'RUN id > /tmp/id.txt && pwd > /tmp/pwd.txt && env | sort > /tmp/env.txt',
          'USER 0',
          'SHELL ["/bin/sh", "-ec"]',
          'RUN test "$(cat /tmp/pwd.txt)" = /srv/tsb',
          'EXPOSE 8080 53/udp 9000-9001',
          'VOLUME /data',
          'VOLUME ["/cache"]',
          'STOPSIGNAL SIGQUIT',
          'HEALTHCHECK --interval=30s --timeout=5s --retries=3 CMD wget -q -O- http://localhost:8080/ || exit 1',
          'ONBUILD RUN echo triggered',
          'ENTRYPOINT ["/bin/sh", "-c"]',
          'CMD ["cat /hello.txt"]',
        ].join('\n') + '\n',
      'files/a.txt': 'A',
      'files/sub/b.sh': { content: '#!/bin/sh\necho b\n', mode: 0o750 },
      'single.txt': 'single',
      'script.sh': { content: 'echo s\n', mode: 0o700 },
      link: { symlink: 'single.txt' },
      'files/sub/ln': { symlink: 'b.sh' },
      'ignored.log': 'nope',
      '.dockerignore': '*.log\n',
    });
    const res = await fx.build();
    log = res.stderr;
    if (res.exitCode !== 0) throw new Error(res.stderr);
    img = await fx.unpack();
  });
  afterAll(async () => fx.cleanup());

  it('ENV, ARG and LABEL with substitution', () => {
    const c = img.config.config as Record<string, unknown>;
    expect(c.Env).toEqual([
      'PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin',
      'HOME_DIR=/home/app',
      'GREETING=hello world',
    ]);
    expect(c.Labels).toEqual({ a: '1', 'b c': 'two words', name: 'tsb' });
    expect(c.WorkingDir).toBe('/srv/tsb');
  });

  it('EXPOSE, VOLUME, STOPSIGNAL, HEALTHCHECK, ONBUILD, SHELL, ENTRYPOINT, CMD', () => {
    const c = img.config.config as Record<string, unknown>;
    expect(c.ExposedPorts).toEqual({ '8080/tcp': {}, '53/udp': {}, '9000/tcp': {}, '9001/tcp': {} });
    expect(c.Volumes).toEqual({ '/data': {}, '/cache': {} });
    expect(c.StopSignal).toBe('SIGQUIT');
    expect(c.Healthcheck).toEqual({
      Test: ['CMD-SHELL', 'wget -q -O- http://localhost:8080/ || exit 1'],
      Interval: 30_000_000_000,
      Timeout: 5_000_000_000,
      Retries: 3,
    });
    expect(c.OnBuild).toEqual(['RUN echo triggered']);
    expect(c.Shell).toEqual(['/bin/sh', '-ec']);
    expect(c.Entrypoint).toEqual(['/bin/sh', '-c']);
    expect(c.Cmd).toEqual(['cat /hello.txt']);
    expect(c.User).toBe('0');
  });

  it('COPY: directory contents, modes, owners, symlinks, .dockerignore', async () => {
    expect(await img.read('/srv/tsb/data/a.txt')).toBe('A');
    expect(await img.stat('/srv/tsb/data/sub/b.sh')).toMatchObject({ mode: 0o750, uid: 0, gid: 0 });
    expect(await img.stat('/opt/single.txt')).toMatchObject({ mode: 0o644, uid: 1000, gid: 1000 });
    expect(await img.stat('/opt/script.sh')).toMatchObject({ mode: 0o700, uid: 1000, gid: 1000 });
    // a symlink named as a source is followed (BuildKit); symlinks inside a copied dir stay links
    expect(await img.stat('/opt/link')).toMatchObject({ type: 'file', mode: 0o644 });
    expect(await img.read('/opt/link')).toBe('single');
    expect(await img.readlink('/srv/tsb/data/sub/ln')).toBe('b.sh');
    expect(await img.exists('/srv/tsb/data/ignored.log')).toBe(false);
  });

  it('RUN: deletions become whiteouts, shell and exec form, USER and WORKDIR apply', async () => {
    expect(await img.exists('/etc/group')).toBe(false);
    expect(await img.exists('/var/tmp/new')).toBe(true);
    expect(await img.read('/hello.txt')).toBe('hello world from tsb\n');
    expect(await img.read('/srv/uid-root.txt')).toBe('0\n');
    // /etc/group is gone, so only passwd names the user; the gid comes from passwd
    expect(await img.read('/tmp/id.txt')).toMatch(/^uid=1000\(app\) gid=1000/);
    expect(await img.read('/tmp/pwd.txt')).toBe('/srv/tsb\n');
    const env = await img.read('/tmp/env.txt');
    expect(env).toMatch(/^NAME=tsb$/m); // ARGs are in RUN's environment
    expect(env).toMatch(/^HOME=\/home\/app$/m);
  });

  it('leaves no mount stubs or build-time files in the layers', async () => {
    expect(await img.exists('/etc/hosts')).toBe(false);
    expect(await img.exists('/etc/resolv.conf')).toBe(false);
  });

  it('history: one entry per instruction, layers only for filesystem changes', () => {
    const history = img.config.history ?? [];
    const withLayer = history.filter((h) => !h.empty_layer).length;
    expect(withLayer).toBe(img.config.rootfs.diff_ids.length);
    expect(history.some((h) => h.created_by?.startsWith('RUN |1 NAME=tsb /bin/sh -c rm /etc/group'))).toBe(true);
  });

  it('runs the image with its entrypoint and cmd', async () => {
    const res = await runBundle(img.bundle);
    expect(res.output).toBe('hello world from tsb\n');
  });

  it('printed each step', () => {
    expect(log).toMatch(/\[stage-0 \d+\/\d+\] RUN rm \/etc\/group/);
  });
});

describe('RUN roots', () => {
  let fx: Fixture | undefined;
  afterAll(async () => fx?.cleanup());

  it('reads USER through a symlinked /etc/passwd (that step mounts its root on the host) and leaves nothing mounted', async () => {
    fx = await makeFixture({
      Dockerfile:
        [
          `FROM ${FROM_BASE}`,
          'RUN mv /etc/passwd /etc/passwd.real && ln -s passwd.real /etc/passwd',
          'USER app',
          'RUN id -u > /tmp/uid',
          'USER root',
          'RUN rm /etc/passwd && mv /etc/passwd.real /etc/passwd',
          'USER app',
          'RUN id -u >> /tmp/uid',
        ].join('\n') + '\n',
    });
    const res = await fx.build();
    expect(res.exitCode, res.stderr).toBe(0);
    const img = await fx.unpack();
    expect(await img.read('/tmp/uid')).toBe('1000\n1000\n');
    expect(await img.exists('/etc/hosts')).toBe(false);
    expect(readFileSync('/proc/self/mountinfo', 'utf8')).not.toContain(fx.stateRoot);
  });
});

describe('stages', () => {
  let fx: Fixture | undefined;
  afterAll(async () => fx?.cleanup());

  it('runs independent stages at the same time and skips stages the target does not need', async () => {
    fx = await makeFixture({
      Dockerfile:
        [
          `FROM ${FROM_BASE} AS a`,
          'RUN sleep 1 && echo a > /a',
          `FROM ${FROM_BASE} AS b`,
          'RUN sleep 1 && echo b > /b',
          `FROM ${FROM_BASE} AS broken`,
          'RUN exit 1',
          `FROM ${FROM_BASE} AS final`,
          'COPY --from=a /a /a',
          'COPY --from=1 /b /b',
          `FROM ${FROM_BASE} AS after`,
          'RUN exit 2',
        ].join('\n') + '\n',
    });
    const res = await fx.build(['--target', 'final', '--progress=json']);
    expect(res.exitCode, res.stderr).toBe(0);
    const events = res.stderr
      .split('\n')
      .filter((l) => l.startsWith('{'))
      .map((l) => JSON.parse(l) as { type: string; vertex?: { name: string }; time: number });
    const span = (name: string) => {
      const start = events.find((e) => e.type === 'vertex.start' && e.vertex?.name.includes(name))!;
      const done = events.find((e) => e.type === 'vertex.done' && e.vertex?.name.includes(name))!;
      return [start.time, done.time] as const;
    };
    const [aStart, aEnd] = span('echo a');
    const [bStart, bEnd] = span('echo b');
    // overlapping intervals: each started before the other finished
    expect(aStart).toBeLessThan(bEnd);
    expect(bStart).toBeLessThan(aEnd);
    expect(events.some((e) => e.type.startsWith('vertex.') && e.vertex?.name.includes('exit 1'))).toBe(false);
    const img = await fx.unpack();
    expect(await img.read('/a')).toBe('a\n');
    expect(await img.read('/b')).toBe('b\n');
  });

  it('FROM a stage inherits its config; ENTRYPOINT resets an inherited CMD', async () => {
    await fx?.cleanup();
    fx = await makeFixture({
      Dockerfile:
        [
          `FROM ${FROM_BASE} AS base`,
          'ENV A=1',
          'CMD ["echo", "base"]',
          'WORKDIR /w',
          'FROM base',
          'ENTRYPOINT ["/bin/echo"]',
        ].join('\n') + '\n',
    });
    const res = await fx.build();
    expect(res.exitCode, res.stderr).toBe(0);
    const c = (await fx.unpack()).config.config as Record<string, unknown>;
    expect(c.Env).toContain('A=1');
    expect(c.WorkingDir).toBe('/w');
    expect(c.Entrypoint).toEqual(['/bin/echo']);
    expect(c.Cmd ?? null).toBeNull();
  });

  it('reads the Dockerfile from stdin with -f -', async () => {
    await fx?.cleanup();
    fx = await makeFixture({ 'x.txt': 'x' });
    const res = await fx.build(['-f', '-'], { input: `FROM ${FROM_BASE}\nCOPY x.txt /x.txt\n` });
    expect(res.exitCode, res.stderr).toBe(0);
    expect(await (await fx.unpack()).read('/x.txt')).toBe('x');
  });
});
