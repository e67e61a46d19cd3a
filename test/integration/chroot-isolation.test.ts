import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { REPO_ROOT, runCli, writeContext } from '../helpers/build-fixture.js';

/**
 * isolation chroot on the real machine, as root: RUN steps chrooted in a copied tree, layers by
 * diffing, and the same images (digests) as runc's overlay upper dirs give.
 */
const isRoot = process.getuid?.() === 0;
const BASE = `oci-layout://${join(REPO_ROOT, 'fixtures/base/busybox')}`;
let work = '';

beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), 'tsb-chroot-'));
});
afterAll(async () => {
  if (work) await rm(work, { recursive: true, force: true });
});

const MULTI = `FROM ${BASE} AS build
RUN mkdir -p /out/d && echo a > /out/a && ln /out/a /out/b && ln -s a /out/c && chmod 700 /out/d && chown 12:34 /out/a
RUN rm -rf /home && mkdir /home && echo x > /home/only && echo x > /etc/only && rm /bin/ls && rm -rf /usr && mkdir -p /var/x
RUN echo appended >> /out/a && rm /out/c && mkdir /out/c && cd /out && mv a z
FROM ${BASE}
COPY --from=build /out /out
COPY --from=build /etc/only /etc/only
RUN rm /etc/only /bin/cat && echo done > /done
`;

/** A build with `--isolation mode` (mode '': none given, the machine decides), optionally under a wrapper command. */
async function build(mode: string, context: string, state: string, extra: string[] = [], wrapper?: string[]) {
  const dest = join(work, `${mode || 'auto'}-${Math.random().toString(36).slice(2)}.tar`);
  const r = await runCli(
    [
      'build',
      ...(mode ? ['--isolation', mode] : []),
      '--progress',
      'plain',
      '-o',
      `type=oci,dest=${dest}`,
      ...extra,
      context,
    ],
    { env: { TSBUILD_ROOT: join(work, state), SOURCE_DATE_EPOCH: '1700000000' }, ...(wrapper ? { wrapper } : {}) },
  );
  return { ...r, dest, manifest: /manifest (sha256:[0-9a-f]{64})/.exec(r.stderr)?.[1] };
}

/** Every entry name of every layer of an OCI archive, "L<n> name". */
function layerEntries(archive: string): string[] {
  const dir = execFileSync('mktemp', ['-d']).toString().trim();
  try {
    execFileSync('tar', ['-xf', archive, '-C', dir]);
    const blob = (d: string) => join(dir, 'blobs/sha256', d.slice('sha256:'.length));
    const index = JSON.parse(execFileSync('cat', [join(dir, 'index.json')]).toString());
    const manifest = JSON.parse(execFileSync('cat', [blob(index.manifests[0].digest)]).toString());
    return (manifest.layers as { digest: string }[]).flatMap((l, i) =>
      execFileSync('tar', ['-tzf', blob(l.digest)])
        .toString()
        .split('\n')
        .filter(Boolean)
        .map((n) => `L${i + 1} ${n}`),
    );
  } finally {
    execFileSync('rm', ['-rf', dir]);
  }
}

/** The content of `name` in the last layer that has it. */
async function layerFile(archive: string, name: string): Promise<string | undefined> {
  const dir = execFileSync('mktemp', ['-d']).toString().trim();
  try {
    execFileSync('tar', ['-xf', archive, '-C', dir]);
    const blob = (d: string) => join(dir, 'blobs/sha256', d.slice('sha256:'.length));
    const index = JSON.parse(readFileSync(join(dir, 'index.json'), 'utf8'));
    const manifest = JSON.parse(readFileSync(blob(index.manifests[0].digest), 'utf8'));
    let found: string | undefined;
    for (const l of manifest.layers as { digest: string }[]) {
      try {
        found = execFileSync('tar', ['-xzOf', blob(l.digest), name], {
          stdio: ['ignore', 'pipe', 'ignore'],
        }).toString();
      } catch {
        // not in this layer
      }
    }
    return found;
  } finally {
    execFileSync('rm', ['-rf', dir]);
  }
}

describe.skipIf(!isRoot)('--isolation chroot', () => {
  it('builds fixtures/features and fixtures/demo to the digests runc gives', async () => {
    for (const fixture of ['features', 'demo']) {
      const context = join(REPO_ROOT, 'fixtures', fixture);
      const runc = await build('runc', context, `runc-${fixture}`);
      const chroot = await build('chroot', context, `chroot-${fixture}`);
      expect(runc.exitCode, runc.stderr).toBe(0);
      expect(chroot.exitCode, chroot.stderr).toBe(0);
      expect(chroot.stderr.split('\n')[0]).toMatch(/^isolation chroot: RUN steps run chrooted/);
      expect(chroot.manifest).toBe(runc.manifest);
    }
  }, 240_000);

  it('a multi-stage build with removals, an opaque dir and hard links: runc’s image, whiteouts included', async () => {
    const context = join(work, 'multi');
    await writeContext(context, { Dockerfile: MULTI });
    const runc = await build('runc', context, 'runc-multi');
    const chroot = await build('chroot', context, 'chroot-multi');
    expect(runc.exitCode, runc.stderr).toBe(0);
    expect(chroot.exitCode, chroot.stderr).toBe(0);
    expect(chroot.manifest).toBe(runc.manifest);
    const stage = await build('chroot', context, 'chroot-multi', ['--target', 'build']);
    const built = layerEntries(stage.dest);
    expect(built).toEqual(
      expect.arrayContaining(['L3 bin/.wh.ls', 'L3 .wh.usr', 'L3 home/.wh..wh..opq', 'L4 out/.wh.a']),
    );
    expect(built).toContain('L4 out/c/.wh..wh..opq');
    expect(layerEntries(chroot.dest)).toEqual(expect.arrayContaining(['L4 bin/.wh.cat', 'L4 etc/.wh.only']));
  }, 240_000);

  it('root without CAP_SYS_ADMIN (as in a container) gets chroot by itself, says so first, and builds runc’s image', async () => {
    const context = join(work, 'multi');
    await writeContext(context, { Dockerfile: MULTI });
    const runc = await build('runc', context, 'runc-multi');
    // the bounding set without it: the exec'd tsbuild holds every capability but that one
    const auto = await build('', context, 'auto-multi', [], ['setpriv', '--bounding-set=-sys_admin', '--']);
    expect(auto.exitCode, auto.stderr).toBe(0);
    expect(auto.stderr.split('\n')[0]).toMatch(/^isolation chroot \(tsbuild may not mount or make namespaces here\)/);
    expect(auto.manifest).toBe(runc.manifest);
  }, 240_000);

  it('RUN --mount of every kind but ssh: copies in (a cache copied back), the same image as runc', async () => {
    const context = join(work, 'mounts');
    execFileSync('cp', ['-r', join(REPO_ROOT, 'fixtures/run-mounts'), context]);
    const dockerfile = readFileSync(join(context, 'Dockerfile'), 'utf8')
      .replace('oci-layout://../base/busybox', BASE)
      // df reads /proc/mounts, which a chroot step has not
      .replace(/df \/scratch \| tail -1 \| grep -q tmpfs/, 'touch /scratch/x')
      .concat(
        'RUN --mount=type=cache,target=/var/cache/app,id=appcache test -d /var/cache/app/x && echo kept > /kept\n',
      );
    await writeContext(context, { Dockerfile: dockerfile });
    const secret = ['--secret', `id=token,src=${join(context, 'token.txt')}`];
    const runc = await build('runc', context, 'runc-mounts', secret);
    const chroot = await build('chroot', context, 'chroot-mounts', secret);
    expect(runc.exitCode, runc.stderr).toBe(0);
    expect(chroot.exitCode, chroot.stderr).toBe(0);
    expect(chroot.manifest).toBe(runc.manifest);
  }, 240_000);

  it('a failing RUN fails the build with the output tail, and leaves the state dir usable and clean', async () => {
    const context = join(work, 'failing');
    await writeContext(context, { Dockerfile: `FROM ${BASE}\nRUN echo one > /one && echo boom >&2 && exit 3\n` });
    const failed = await build('chroot', context, 'chroot-fail');
    expect(failed.exitCode).toBe(1);
    expect(failed.stderr).toContain('did not complete successfully: exit code: 3');
    expect(failed.stderr).toContain('  > boom');
    await writeContext(context, { Dockerfile: `FROM ${BASE}\nRUN echo one > /one\n` });
    const ok = await build('chroot', context, 'chroot-fail');
    expect(ok.exitCode, ok.stderr).toBe(0);
    // no step tree is left behind by either build
    const tmp = join(work, 'chroot-fail', 'tmp');
    const left = (await readdir(tmp, { recursive: true }).catch(() => [])).filter((n) => /tree-/.test(String(n)));
    expect(left).toEqual([]);
  }, 240_000);

  it("a root step holds docker's default capabilities only (RUN --security=insecure: all of tsbuild's)", async () => {
    const context = join(work, 'caps');
    // raising a priority needs CAP_SYS_NICE, which root on this host has and docker's set does not
    const probe = 'if renice -n -5 -p $$ >/dev/null 2>&1; then echo yes; else echo no; fi';
    await writeContext(context, {
      Dockerfile: `FROM ${BASE}\nRUN ${probe} > /sandbox\nRUN --security=insecure ${probe} > /insecure\n`,
    });
    const r = await build('chroot', context, 'chroot-caps', ['--allow', 'security.insecure']);
    expect(r.exitCode, r.stderr).toBe(0);
    expect(await layerFile(r.dest, 'sandbox')).toBe('no\n');
    expect(await layerFile(r.dest, 'insecure')).toBe('yes\n');
  }, 120_000);

  it('refuses what it cannot isolate, saying so', async () => {
    const context = join(work, 'refused');
    await writeContext(context, { Dockerfile: `FROM ${BASE}\nRUN --network=none true\n` });
    const r = await build('chroot', context, 'chroot-refused');
    expect(r.exitCode).toBe(1);
    expect(r.stderr).toContain('isolation chroot cannot run a step without network');
  }, 120_000);
});
