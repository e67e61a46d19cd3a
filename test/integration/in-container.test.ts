/**
 * tsbuild inside a container that dockerd starts with its defaults: its default seccomp profile
 * (and AppArmor profile where the host has AppArmor; this one has none), no --privileged, as
 * root and as uid 1000 — what a CI job in a locked-down pod gets. The image is made from this
 * machine's files by scripts/pod-image.sh (no Docker Hub). A multi-stage Dockerfile with RUN
 * steps, FROM a registry on 127.0.0.1, is built there and pushed; the pushed image must be the
 * one root builds on the host.
 *
 * runc cannot make containers there (no CAP_SYS_ADMIN, a read-only cgroupfs, namespaces and
 * mounts refused by the profile): until an isolation mode that needs none of that exists
 * (`--isolation chroot`, listed by `tsbuild build --help`), the build must stop with an
 * environment error saying so, and the full-build tests are skipped; they run as soon as the
 * image's tsbuild lists chroot.
 */
import { execFile, execFileSync } from 'node:child_process';
import { chmod, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BASE_LAYOUT, REPO_ROOT, runCli, TSBUILD } from '../helpers/build-fixture.js';
import { dockerdRunning } from '../helpers/dockerd.js';
import { startRegistry, type TestRegistry } from '../helpers/registry.js';

const run = promisify(execFile);
const DOCKER = '/usr/bin/docker';
const IMAGE = `tsbuild-pod:test-${process.pid}`;
/** The same with subordinate ids for app (uid 1000), for rootless mode where the container allows it. */
const IMAGE_SUBIDS = `tsbuild-pod:test-subids-${process.pid}`;
const EPOCH = '1700000000';

const skipReason =
  process.getuid?.() !== 0
    ? 'needs root (docker import, a registry, the host build to compare with)'
    : !dockerdRunning()
      ? 'no dockerd answers (../shared/bench/setup-anchors.sh starts it)'
      : undefined;
if (skipReason) console.warn(`in-container tests skipped: ${skipReason}`);

/** The users the container runs tsbuild as: root, and an ordinary uid without any capability. */
const USERS = [
  { name: 'root', flag: '0' },
  { name: 'uid 1000', flag: '1000' },
] as const;

/**
 * tsbuild has an isolation mode for a container without mount rights: `--isolation` lists chroot
 * (asked of this checkout's build, which is what the image holds).
 */
function hasChrootMode(): boolean {
  try {
    const help = execFileSync(TSBUILD, ['build', '--help'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] });
    return /chroot/.test(/--isolation[\s\S]*?(?=\n {2}-)/.exec(help)?.[0] ?? '');
  } catch {
    return false;
  }
}
const chrootModeAvailable = hasChrootMode();
if (!skipReason && !chrootModeAvailable)
  console.warn('in-container full builds skipped: tsbuild has no --isolation chroot yet');

let work = '';
let reg: TestRegistry | undefined;
let imageMade = false;
/** The host root build's manifest and config digests. */
let hostDigests: string[] = [];
/**
 * The same for Dockerfile.nochown, the Dockerfile without its RUN chown: uid 1000 builds that one
 * (isolation chroot runs its steps under proot, where a RUN's chown is faked and changes nothing).
 */
let hostNoChownDigests: string[] = [];
/** The Dockerfile each user builds, and the host build it must equal. */
const dockerfileFor = (flag: string) => (flag === '0' ? [] : ['-f', '/ctx/Dockerfile.nochown']);
const hostDigestsFor = (flag: string) => (flag === '0' ? hostDigests : hostNoChownDigests);

/** What a pushed build's --metadata-file says it pushed. */
async function digestsIn(meta: string): Promise<string[]> {
  const m = JSON.parse(await readFile(meta, 'utf8')) as Record<string, string>;
  return [m['containerimage.digest']!, m['containerimage.config.digest']!];
}

interface Ran {
  exitCode: number;
  stdout: string;
  stderr: string;
}

/**
 * `docker run --rm --network host -u USER [OPTS] IMAGE ARGS`, with the context and a state volume;
 * dockerd's default security settings unless `opts.docker` adds some.
 */
async function inContainer(
  user: string,
  args: string[],
  state: string,
  opts: { image?: string; docker?: string[] } = {},
): Promise<Ran> {
  const argv = [
    'run',
    '--rm',
    '--network',
    'host',
    '-u',
    user,
    ...(opts.docker ?? []),
    '-e',
    `SOURCE_DATE_EPOCH=${EPOCH}`,
    '-e',
    'TSBUILD_ROOT=/state',
    // daemonless, as every test's CLI (vitest.config.ts): a server would outlive nothing here, but
    // its start would take CPU from the build beside it
    '-e',
    'TSBUILD_SERVER=0',
    // the state dir on a volume, as a pod's emptyDir: overlayfs (the container's own root)
    // refuses 0/0 character devices, the whiteouts layers are made of
    '-v',
    `${state}:/state`,
    '-v',
    `${join(work, 'ctx')}:/ctx:ro`,
    opts.image ?? IMAGE,
    ...args,
  ];
  try {
    const { stdout, stderr } = await run(DOCKER, argv, { maxBuffer: 16 << 20, timeout: 240_000 });
    return { exitCode: 0, stdout, stderr };
  } catch (err) {
    const e = err as { code?: number; stdout?: string; stderr?: string };
    return { exitCode: typeof e.code === 'number' ? e.code : -1, stdout: e.stdout ?? '', stderr: e.stderr ?? '' };
  }
}

/** A state dir for one container run, writable by any uid (as an emptyDir with fsGroup would be). */
async function stateDir(name: string): Promise<string> {
  const dir = join(work, `state-${name}`);
  await mkdir(dir);
  await chmod(dir, 0o1777);
  return dir;
}

beforeAll(async () => {
  if (skipReason) return;
  work = await mkdtemp(join(tmpdir(), 'tsbuild-in-container-'));
  imageMade = true;
  const podImage = join(REPO_ROOT, 'scripts/pod-image.sh');
  execFileSync('bash', [podImage, IMAGE], { stdio: ['ignore', 'ignore', 'inherit'] });
  execFileSync('bash', [podImage, '--subids', IMAGE_SUBIDS], { stdio: ['ignore', 'ignore', 'inherit'] });
  reg = await startRegistry();
  await reg.push(BASE_LAYOUT, 'latest', 'tsb/base:1');
  await mkdir(join(work, 'ctx'));
  await writeFile(
    join(work, 'ctx/Dockerfile'),
    [
      `FROM ${reg.host}/tsb/base:1 AS build`,
      'RUN mkdir -p /out && echo built > /out/a && echo gone > /out/b && chown 1000:1000 /out/a',
      'RUN rm /out/b && ln -s a /out/link',
      `FROM ${reg.host}/tsb/base:1`,
      'COPY --from=build /out /app',
      'RUN rm -f /bin/zcat && cat /app/a > /app/copied',
      'USER app',
      'RUN id -u > /tmp/uid',
      '',
    ].join('\n'),
  );
  await writeFile(
    join(work, 'ctx/Dockerfile.nochown'),
    (await readFile(join(work, 'ctx/Dockerfile'), 'utf8')).replace(' && chown 1000:1000 /out/a', ''),
  );
  execFileSync('chmod', ['-R', 'a+rX', work]);
  const metaNoChown = join(work, 'host-meta-nochown.json');
  const hostNoChown = await runCli(
    [
      'build',
      '--progress=plain',
      '--metadata-file',
      metaNoChown,
      '-f',
      join(work, 'ctx/Dockerfile.nochown'),
      '-t',
      `${reg.host}/podtest/app:host-nochown`,
      '--push',
      join(work, 'ctx'),
    ],
    { env: { SOURCE_DATE_EPOCH: EPOCH, TSBUILD_ROOT: join(work, 'host-state') } },
  );
  if (hostNoChown.exitCode !== 0)
    throw new Error(`the host build of Dockerfile.nochown failed:\n${hostNoChown.stderr}`);
  hostNoChownDigests = await digestsIn(metaNoChown);
  const meta = join(work, 'host-meta.json');
  const host = await runCli(
    [
      'build',
      '--progress=plain',
      '--metadata-file',
      meta,
      '-t',
      `${reg.host}/podtest/app:host`,
      '--push',
      join(work, 'ctx'),
    ],
    { env: { SOURCE_DATE_EPOCH: EPOCH, TSBUILD_ROOT: join(work, 'host-state') } },
  );
  if (host.exitCode !== 0) throw new Error(`the host build failed:\n${host.stderr}`);
  hostDigests = await digestsIn(meta);
}, 300_000);

afterAll(async () => {
  await reg?.stop();
  if (imageMade) await run(DOCKER, ['rmi', '-f', IMAGE, IMAGE_SUBIDS]).catch(() => undefined);
  if (work) await rm(work, { recursive: true, force: true });
});

describe.skipIf(skipReason !== undefined)('tsbuild in a dockerd container (default seccomp, no --privileged)', () => {
  it("the image holds every tool tsbuild starts, and runs under dockerd's default seccomp profile", async () => {
    const tools = ['runc', 'bash', 'mount', 'umount', 'getfattr', 'setfattr', 'cp', 'rm', 'mknod', 'chattr', 'zstd'];
    const more = ['xz', 'bzip2', 'unshare', 'setpriv', 'newuidmap', 'newgidmap', 'perl', 'proot', 'git', 'dmesg'];
    const res = await inContainer(
      '1000',
      [
        'sh',
        '-c',
        'for t in "$@"; do command -v "$t" >/dev/null || echo "missing $t"; done; grep ^Seccomp: /proc/self/status; perl -MPOSIX -e 1 && tsbuild --version',
        'sh',
        ...tools,
        ...more,
      ],
      await stateDir('tools'),
    );
    expect(res.exitCode, res.stderr).toBe(0);
    expect(res.stdout).not.toMatch(/missing/);
    // 2: a seccomp filter (docker's default profile) is on the container's processes
    expect(res.stdout).toMatch(/^Seccomp:\t2$/m);
    expect(res.stdout).toMatch(/^\d+\.\d+\.\d+$/m);
  }, 120_000);

  for (const user of USERS) {
    it.skipIf(chrootModeAvailable)(
      `as ${user.name}, without an isolation mode for it yet, stops with an environment error saying what is missing`,
      async () => {
        const state = await stateDir(`fail-${user.flag}`);
        const res = await inContainer(
          user.flag,
          ['tsbuild', 'build', '--progress=plain', '-t', `${reg!.host}/podtest/app:u${user.flag}`, '--push', '/ctx'],
          state,
        );
        expect(res.exitCode, res.stderr).toBe(1);
        expect(res.stderr).not.toMatch(/internal error|bug/i);
        if (user.flag === '0')
          // runc mode: the first RUN's container cannot be made
          expect(res.stderr).toMatch(
            /error: .*RUN .*: runc could not make the step's cgroup \(.*read-only file system\): this process lacks the rights runc needs/,
          );
        // an ordinary user is rootless by default, which needs subordinate ids and user namespaces
        else expect(res.stderr).toMatch(/error: rootless mode needs subordinate ids for app \(uid 1000\)/);
        expect(res.stderr).toMatch(/^hint: /m);
      },
      240_000,
    );

    // the full build, once `--isolation chroot` is in (chosen automatically where runc and
    // rootless cannot work, issue 15)
    it.skipIf(!chrootModeAvailable)(
      `as ${user.name}: builds the multi-stage Dockerfile, pushes it, and the image is the one root builds on the host`,
      async () => {
        const state = await stateDir(`build-${user.flag}`);
        const res = await inContainer(
          user.flag,
          [
            'tsbuild',
            'build',
            '--progress=plain',
            '--metadata-file',
            '/state/meta.json',
            ...dockerfileFor(user.flag),
            '-t',
            `${reg!.host}/podtest/app:u${user.flag}`,
            '--push',
            '/ctx',
          ],
          state,
        );
        expect(res.exitCode, res.stderr).toBe(0);
        expect(res.stderr.split('\n')[0]).toMatch(user.flag === '0' ? /chroot/ : /^isolation chroot .*under proot/);
        expect(await digestsIn(join(state, 'meta.json'))).toEqual(hostDigestsFor(user.flag));
        // what the registry holds under the tag is that manifest
        const { stdout } = await run('skopeo', [
          'inspect',
          '--raw',
          '--tls-verify=false',
          `docker://${reg!.host}/podtest/app:u${user.flag}`,
        ]);
        const { createHash } = await import('node:crypto');
        expect(`sha256:${createHash('sha256').update(stdout).digest('hex')}`).toBe(hostDigestsFor(user.flag)[0]);
      },
      300_000,
    );
  }
  /** The build of /ctx, pushed under `tag`, its metadata in the state dir. */
  const pushBuild = (tag: string) => [
    'tsbuild',
    'build',
    '--progress=plain',
    '--metadata-file',
    '/state/meta.json',
    '-t',
    `${reg!.host}/podtest/app:${tag}`,
    '--push',
    '/ctx',
  ];

  it('rootless, as uid 1000, where the container allows user namespaces and leaves /proc unmasked: the image root builds on the host', async () => {
    // what a pod gets from seccompProfile Unconfined and procMount Unmasked (README)
    const state = await stateDir('rootless');
    const res = await inContainer('1000', pushBuild('rootless'), state, {
      image: IMAGE_SUBIDS,
      docker: ['--security-opt', 'seccomp=unconfined', '--security-opt', 'systempaths=unconfined'],
    });
    expect(res.exitCode, res.stderr).toBe(0);
    expect(res.stderr.split('\n')[0]).toMatch(
      /^rootless: user namespace maps uid 1000 to 0 and 100000…165535 to 1…65536;/,
    );
    expect(await digestsIn(join(state, 'meta.json'))).toEqual(hostDigests);
  }, 300_000);

  it("rootless with user namespaces allowed but /proc masked (docker's default): an environment error naming procMount", async () => {
    const res = await inContainer('1000', pushBuild('masked'), await stateDir('masked'), {
      image: IMAGE_SUBIDS,
      docker: ['--security-opt', 'seccomp=unconfined'],
    });
    expect(res.exitCode, res.stderr).toBe(1);
    expect(res.stderr).toMatch(/error: .*RUN .*: runc could not mount \/proc for the step in the user namespace/);
    expect(res.stderr).toMatch(/^hint: .*systempaths=unconfined; Kubernetes: securityContext.procMount: Unmasked/m);
  }, 300_000);
  it("the README's GitLab CI job, as root under the defaults: credentials from CI variables, cache and image pushed (no RUN)", async () => {
    // the job's script and variables, read from the README, run as GitLab runs them (sh -c per
    // line, variables exported first) against a registry that wants a password
    const readme = await readFile(join(REPO_ROOT, 'README.md'), 'utf8');
    const job = /```yaml\n(build-image:\n[\s\S]*?)```/.exec(readme)?.[1];
    expect(job, 'a build-image job in README.md').toBeDefined();
    const variables = [...job!.matchAll(/^ {4}([A-Z_]+): ("[^"]*")/gm)].map((m) => `export ${m[1]}=${m[2]}`);
    const script: string[] = [];
    for (const line of job!.slice(job!.indexOf('  script:\n')).split('\n').slice(1)) {
      if (line.startsWith('    - ')) script.push(line.slice(6) === '>-' ? '' : line.slice(6));
      else if (line.startsWith('      ') && script.length) script[script.length - 1] += ` ${line.trim()}`;
    }
    expect(script.length).toBe(3);
    const authReg = await startRegistry({ auth: 'htpasswd' });
    try {
      await authReg.push(BASE_LAYOUT, 'latest', 'tsb/base:1');
      const project = join(work, 'project');
      await mkdir(project);
      await writeFile(join(project, 'Dockerfile'), `FROM ${authReg.host}/tsb/base:1\nCOPY f /app/f\n`);
      await writeFile(join(project, 'f'), 'from the project\n');
      await chmod(project, 0o777);
      const ci = {
        CI_PROJECT_DIR: '/builds/project',
        CI_REGISTRY: authReg.host,
        CI_REGISTRY_IMAGE: `${authReg.host}/group/project`,
        CI_REGISTRY_USER: authReg.user.username,
        CI_REGISTRY_PASSWORD: authReg.user.password,
        CI_COMMIT_SHORT_SHA: 'abc1234',
      };
      const res = await inContainer(
        '0',
        ['sh', '-ec', [...variables, 'cd "$CI_PROJECT_DIR"', ...script].join('\n')],
        await stateDir('gitlab'),
        {
          docker: [...Object.entries(ci).flatMap(([k, v]) => ['-e', `${k}=${v}`]), '-v', `${project}:/builds/project`],
        },
      );
      expect(res.exitCode, res.stderr).toBe(0);
      expect(res.stderr).toMatch(new RegExp(`pushed ${authReg.host}/group/project:abc1234`));
      for (const ref of ['group/project:abc1234', 'group/project/cache:main']) {
        const { stdout } = await run('skopeo', [
          'inspect',
          '--raw',
          '--tls-verify=false',
          ...authReg.skopeoArgs('inspect'),
          `docker://${authReg.host}/${ref}`,
        ]);
        expect(JSON.parse(stdout).layers.length, ref).toBeGreaterThan(0);
      }
    } finally {
      await authReg.stop();
    }
  }, 300_000);
});
