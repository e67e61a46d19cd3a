/**
 * Path escapes: each attempt builds a Dockerfile that tries to reach a host path through a
 * heredoc name, `..`, a symlink (in the context, in a layer, in an archive, in /etc/passwd), a
 * mount source or target, or WORKDIR. After each build the canary dir on the host (outside the
 * context and the state dir) must be unchanged, no file the attempt wrote may appear outside an
 * image rootfs, and no canary content may show in the output. The closing line counts attempts
 * and escapes. ADD archives with `..` and symlink members that leave the destination are in
 * test/integration/copy-archives.test.ts ("ADD of a hostile archive"); the ones here go through
 * an absolute link.
 */
import { createHash, randomBytes } from 'node:crypto';
import { cp, lstat, mkdir, mkdtemp, readdir, readFile, readlink, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import tarStream from 'tar-stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BASE_LAYOUT, runCli, writeContext, type CliResult, type FileSpec } from '../helpers/build-fixture.js';

const CANARY_TEXT = 'canary-7f3a9c-host-content';

interface Attempt {
  name: string;
  /** `$C` is the canary dir's absolute path, `$UP` enough `../` to reach / from anywhere. */
  dockerfile: string;
  files?: Record<string, FileSpec>;
  setup?: (context: string) => Promise<void>;
  extraArgs?: string[];
  /** 0: built, and `check` looks at the image (a local output); 1: a clear user error. */
  exit: 0 | 1;
  message?: RegExp;
  /** The build would succeed only by reading the host (a passwd, a layout): success is an escape. */
  hostRead?: true;
  check?: (rootfs: string) => Promise<void>;
}

let work: string;
/** Named before the tests are collected, so the table can spell it; made in beforeAll. */
const canary = join(tmpdir(), `tsbuild-canary-${process.pid}-${randomBytes(4).toString('hex')}`);
let stateRoot: string;
let tried = 0;
const escaped: string[] = [];

const FROM = `FROM oci-layout://${BASE_LAYOUT}`;

async function isFile(path: string): Promise<string | undefined> {
  try {
    return await readFile(path, 'utf8');
  } catch {
    return undefined;
  }
}

/** Everything about every entry under `dir` that a write could change. */
async function fingerprint(dir: string): Promise<Map<string, string>> {
  const out = new Map<string, string>();
  const walk = async (d: string): Promise<void> => {
    for (const name of await readdir(d)) {
      const p = join(d, name);
      const st = await lstat(p);
      const body = st.isFile()
        ? createHash('sha256')
            .update(await readFile(p))
            .digest('hex')
        : st.isSymbolicLink()
          ? await readlink(p)
          : '';
      out.set(relative(canary, p), `${st.mode}:${st.uid}:${st.gid}:${st.size}:${st.mtimeMs}:${body}`);
      if (st.isDirectory()) await walk(p);
    }
  };
  await walk(dir);
  return out;
}

/** Files named escapee* anywhere under `dir` but where they belong: an image rootfs, a cache mount, a context. */
async function strays(dir: string): Promise<string[]> {
  const out: string[] = [];
  const walk = async (d: string): Promise<void> => {
    for (const name of await readdir(d).catch(() => [] as string[])) {
      const p = join(d, name);
      const rel = relative(work, p);
      // image rootfs (layers, local outputs), cache mount dirs, the contexts themselves
      if (/^state\/snapshots\/[^/]+\/fs$|^state\/cache-mounts$|^state\/content$|^\d+\/(out|context)$/.test(rel))
        continue;
      if (name.startsWith('escapee')) out.push(p);
      if ((await lstat(p)).isDirectory()) await walk(p);
    }
  };
  await walk(dir);
  return out;
}

const up = (): string => '../'.repeat(24);

async function tarFile(path: string, entries: tarStream.Headers[]): Promise<void> {
  const pack = tarStream.pack();
  const chunks: Buffer[] = [];
  pack.on('data', (c: Buffer) => chunks.push(c));
  const done = new Promise((r) => pack.on('end', r));
  for (const h of entries) {
    await new Promise<void>((r, j) =>
      pack.entry({ mode: 0o644, ...h }, h.type === 'symlink' ? '' : 'escaped\n', (e) => (e ? j(e) : r())),
    );
  }
  pack.finalize();
  await done;
  await writeFile(path, Buffer.concat(chunks));
}

const inImage = (rootfs: string, path: string): string => join(rootfs, path);
const expectFile = async (rootfs: string, path: string, content?: string) => {
  const text = await isFile(inImage(rootfs, path));
  expect(text, `${path} in the image`).toBeDefined();
  if (content !== undefined) expect(text).toBe(content);
};

const ATTEMPTS = (): Attempt[] => {
  const C = canary;
  const UP = up();
  return [
    // heredoc names
    {
      name: 'COPY heredoc named ../../…/victim.txt',
      dockerfile: `${FROM}\nCOPY <<${UP}${C.slice(1)}/victim.txt /x/\npwned\n${UP}${C.slice(1)}/victim.txt\n`,
      exit: 1,
      message: /Dockerfile:2:1: heredoc name .* is not a file name/,
    },
    {
      name: 'ADD heredoc named ../../…/victim.txt',
      dockerfile: `${FROM}\nADD <<${UP}${C.slice(1)}/victim.txt /x/\npwned\n${UP}${C.slice(1)}/victim.txt\n`,
      exit: 1,
      message: /heredoc name .* is not a file name/,
    },
    {
      name: 'COPY heredoc named ../escapee lands in the destination',
      dockerfile: `${FROM}\nCOPY <<../escapee-doc /x/\nhi\n../escapee-doc\n`,
      exit: 0,
      check: (r) => expectFile(r, '/x/escapee-doc', 'hi\n'),
    },
    {
      name: 'COPY heredoc named /abs/path',
      dockerfile: `${FROM}\nCOPY <<${C}/victim.txt /x/\npwned\n${C}/victim.txt\n`,
      exit: 1,
      message: /is not a file name/,
    },
    // .. in destinations and sources
    {
      name: 'COPY to ../../…/canary/victim.txt',
      files: { f: 'pwned\n' },
      dockerfile: `${FROM}\nCOPY f ${UP}${C.slice(1)}/victim.txt\n`,
      exit: 0,
      check: (r) => expectFile(r, `${C}/victim.txt`, 'pwned\n'),
    },
    {
      name: 'COPY to a relative ../escapee from a WORKDIR',
      files: { f: 'x' },
      dockerfile: `${FROM}\nWORKDIR /a/b\nCOPY f ../../../../../escapee-rel\n`,
      exit: 0,
      check: (r) => expectFile(r, '/escapee-rel', 'x'),
    },
    {
      name: 'ADD to ../../…/canary/',
      files: { f: 'pwned\n' },
      dockerfile: `${FROM}\nADD f ${UP}${C.slice(1)}/\n`,
      exit: 0,
      check: (r) => expectFile(r, `${C}/f`, 'pwned\n'),
    },
    {
      name: 'COPY from ../../…/canary/victim.txt',
      dockerfile: `${FROM}\nCOPY ${UP}${C.slice(1)}/victim.txt /x\n`,
      exit: 1,
      hostRead: true,
      message: /is outside the build context/,
    },
    {
      name: "COPY from .. (the context's parent)",
      setup: (ctx) => writeFile(join(ctx, '..', 'sibling-secret'), CANARY_TEXT),
      dockerfile: `${FROM}\nCOPY ../ /x/\n`,
      exit: 1,
      message: /is outside the build context/,
    },
    {
      name: 'ADD from an absolute host path',
      dockerfile: `${FROM}\nADD ${C}/victim.txt /x\n`,
      exit: 1,
      message: /not found|no such|does not exist/i,
    },
    // symlinks in the context
    {
      name: 'COPY a context symlink to a host file',
      files: { link: { symlink: `${C}/victim.txt` } },
      dockerfile: `${FROM}\nCOPY link /x\n`,
      exit: 1,
      hostRead: true,
      message: /not found/,
    },
    {
      name: 'COPY a dir holding a symlink to a host file (copies the link)',
      files: { 'd/link': { symlink: `${C}/victim.txt` } },
      dockerfile: `${FROM}\nCOPY d /x/\n`,
      exit: 0,
      check: async (r) => {
        expect(await readlink(inImage(r, '/x/link'))).toBe(`${C}/victim.txt`);
      },
    },
    {
      name: 'COPY through a context dir symlink to the host',
      files: { dirlink: { symlink: C } },
      dockerfile: `${FROM}\nCOPY dirlink/victim.txt /x\n`,
      exit: 1,
      hostRead: true,
      message: /not found|no such|does not exist/i,
    },
    {
      name: 'COPY a context dir symlink with a trailing slash',
      files: { dirlink: { symlink: C } },
      dockerfile: `${FROM}\nCOPY dirlink/ /x/\n`,
      exit: 1,
      hostRead: true,
      message: /not found|no such|does not exist/i,
    },
    {
      name: 'COPY through a relative context symlink leaving the context',
      files: { uplink: { symlink: `${UP}${C.slice(1)}` } },
      dockerfile: `${FROM}\nCOPY uplink/victim.txt /x\n`,
      exit: 1,
      hostRead: true,
      message: /not found|no such|does not exist/i,
    },
    {
      name: '.dockerignore that is a symlink to a host file',
      files: { '.dockerignore': { symlink: `${C}/ignore` }, f: 'x' },
      dockerfile: `${FROM}\nCOPY f /x\n`,
      exit: 0,
      check: (r) => expectFile(r, '/x', 'x'),
    },
    {
      name: '.dockerignore that is a relative symlink climbing to a host file',
      files: { '.dockerignore': { symlink: `${UP}${C.slice(1)}/ignore` }, f: 'x' },
      dockerfile: `${FROM}\nCOPY f /x\n`,
      exit: 0,
      check: (r) => expectFile(r, '/x', 'x'),
    },
    {
      name: '.dockerignore that is a symlink inside the context is followed there',
      files: { '.dockerignore': { symlink: '/sub/ignores' }, 'sub/ignores': 'f\n', f: 'x' },
      dockerfile: `${FROM}\nCOPY . /ctx/\n`,
      exit: 0,
      check: async (r) => {
        expect(await isFile(inImage(r, '/ctx/f'))).toBeUndefined();
        await expectFile(r, '/ctx/sub/ignores', 'f\n');
      },
    },
    {
      name: 'a context Dockerfile that is a symlink to a host file',
      files: { 'Dockerfile.real': 'unused' },
      setup: async (ctx) => {
        await rm(join(ctx, 'Dockerfile'), { force: true });
        await symlink(`${C}/victim.txt`, join(ctx, 'Dockerfile'));
      },
      dockerfile: '',
      exit: 1,
      hostRead: true,
      message: /no Dockerfile at/,
    },
    // symlinks in layers
    {
      name: 'COPY into /hostroot/… after RUN ln -s / /hostroot',
      files: { f: 'pwned\n' },
      dockerfile: `${FROM}\nRUN ln -s / /hostroot\nCOPY f /hostroot${C}/victim.txt\n`,
      exit: 0,
      check: (r) => expectFile(r, `${C}/victim.txt`, 'pwned\n'),
    },
    {
      name: 'COPY into a layer symlink to the canary dir',
      files: { f: 'pwned\n' },
      dockerfile: `${FROM}\nRUN ln -s ${C} /c\nCOPY f /c/victim.txt\n`,
      exit: 0,
      check: (r) => expectFile(r, `${C}/victim.txt`, 'pwned\n'),
    },
    {
      name: 'COPY into a relative layer symlink climbing out',
      files: { f: 'pwned\n' },
      dockerfile: `${FROM}\nRUN mkdir -p /a/b && ln -s ${UP}${C.slice(1)} /a/b/c\nCOPY f /a/b/c/\n`,
      exit: 0,
      check: (r) => expectFile(r, `${C}/f`, 'pwned\n'),
    },
    {
      name: 'COPY a directory into /hostroot/…',
      files: { 'd/escapee-dir': 'x' },
      dockerfile: `${FROM}\nRUN ln -s / /hostroot\nCOPY d /hostroot${C}/\n`,
      exit: 0,
      check: (r) => expectFile(r, `${C}/escapee-dir`, 'x'),
    },
    {
      name: 'COPY --from a stage whose path is a symlink to the host',
      dockerfile: `${FROM} AS s\nRUN ln -s ${C} /c\n${FROM}\nCOPY --from=s /c/victim.txt /x\n`,
      exit: 1,
      hostRead: true,
      message: /not found|no such|does not exist/i,
    },
    {
      name: 'COPY to a dangling link into missing dirs (/nonexist/deeper)',
      files: { f: 'x' },
      dockerfile: `${FROM}\nRUN ln -s /nonexist/deeper /evil\nCOPY f /evil/x\n`,
      exit: 0,
      check: (r) => expectFile(r, '/nonexist/deeper/x', 'x'),
    },
    // WORKDIR
    {
      name: 'WORKDIR through a layer symlink to the canary dir',
      dockerfile: `${FROM}\nRUN ln -s ${C} /w\nWORKDIR /w/escapee-wd\n`,
      exit: 0,
      check: async (r) => {
        expect((await lstat(inImage(r, `${C}/escapee-wd`))).isDirectory()).toBe(true);
      },
    },
    {
      name: 'WORKDIR through a dangling link into missing dirs',
      dockerfile: `${FROM}\nRUN ln -s /nonexist/deeper /evil2\nWORKDIR /evil2/sub\nRUN touch escapee-wd2\n`,
      exit: 0,
      check: async (r) => {
        expect((await lstat(inImage(r, '/nonexist/deeper/sub'))).isDirectory()).toBe(true);
        await expectFile(r, '/nonexist/deeper/sub/escapee-wd2', '');
      },
    },
    {
      name: 'WORKDIR ../../… then RUN touch',
      dockerfile: `${FROM}\nWORKDIR ${UP}${C.slice(1)}\nRUN touch escapee-run\n`,
      exit: 0,
      check: (r) => expectFile(r, `${C}/escapee-run`, ''),
    },
    // archives for ADD through absolute links
    // the link resolves inside the destination, as under BuildKit's chroot for the extraction
    {
      name: 'ADD an archive with an absolute symlink then a member through it',
      setup: (ctx) =>
        tarFile(join(ctx, 'evil.tar'), [{ name: 'abs', type: 'symlink', linkname: C }, { name: 'abs/escapee-tar' }]),
      dockerfile: `${FROM}\nADD evil.tar /x/\n`,
      exit: 0,
      check: (r) => expectFile(r, `/x${C}/escapee-tar`, 'escaped\n'),
    },
    {
      name: 'ADD an archive into /hostroot after RUN ln -s / /hostroot',
      setup: (ctx) => tarFile(join(ctx, 'a.tar'), [{ name: 'escapee-tar2' }]),
      dockerfile: `${FROM}\nRUN ln -s / /hostroot\nADD a.tar /hostroot${C}/\n`,
      exit: 0,
      check: (r) => expectFile(r, `${C}/escapee-tar2`, 'escaped\n'),
    },
    // mounts
    {
      name: 'bind mount of a context symlink to the host',
      files: { dirlink: { symlink: C } },
      dockerfile: `${FROM}\nRUN --mount=type=bind,source=dirlink,target=/m cat /m/victim.txt\n`,
      exit: 1,
      hostRead: true,
    },
    {
      name: 'bind mount of a stage path that is a symlink to the host',
      dockerfile: `${FROM} AS s\nRUN ln -s ${C} /c\n${FROM}\nRUN --mount=type=bind,from=s,source=/c,target=/m cat /m/victim.txt\n`,
      exit: 1,
      hostRead: true,
    },
    {
      name: 'bind mount target through a layer symlink to the host',
      files: { f: 'pwned\n' },
      dockerfile: `${FROM}\nRUN ln -s ${C} /t\nRUN --mount=type=bind,source=f,target=/t/victim.txt cat /t/victim.txt\n`,
      exit: 0,
    },
    {
      name: 'cache mount target through a layer symlink to the host',
      dockerfile: `${FROM}\nRUN ln -s ${C} /t\nRUN --mount=type=cache,target=/t/escapee-cache touch /t/escapee-cache/f\n`,
      exit: 0,
    },
    {
      name: 'tmpfs mount target through /hostroot',
      dockerfile: `${FROM}\nRUN ln -s / /hostroot\nRUN --mount=type=tmpfs,target=/hostroot${C}/escapee-tmpfs touch /hostroot${C}/escapee-tmpfs/f\n`,
      exit: 0,
    },
    {
      name: 'cache mount source with ..',
      dockerfile: `${FROM}\nRUN --mount=type=cache,id=x,source=${UP}${C.slice(1)},target=/m touch /m/escapee-cachesrc\n`,
      exit: 0,
    },
    {
      name: 'bind mount source ../../…/canary',
      dockerfile: `${FROM}\nRUN --mount=type=bind,source=${UP}${C.slice(1)},target=/m cat /m/victim.txt\n`,
      exit: 1,
      hostRead: true,
    },
    // /etc/passwd and /etc/group
    {
      name: 'USER name through /etc/passwd -> a host passwd',
      dockerfile: `${FROM}\nRUN ln -sf ${C}/passwd /etc/passwd\nUSER hostonly\nRUN true\n`,
      exit: 1,
      hostRead: true,
      message: /unable to find user hostonly/,
    },
    {
      name: 'COPY --chown name through /etc/passwd -> a host passwd',
      files: { f: 'x' },
      dockerfile: `${FROM}\nRUN ln -sf ${C}/passwd /etc/passwd\nCOPY --chown=hostonly f /x\n`,
      exit: 1,
      hostRead: true,
      message: /unable to find user hostonly/,
    },
    {
      name: 'USER :group through /etc/group -> a host group',
      dockerfile: `${FROM}\nRUN ln -sf ${C}/group /etc/group\nUSER 0:hostgroup\nRUN true\n`,
      exit: 1,
      hostRead: true,
      message: /unable to find group hostgroup/,
    },
    {
      name: 'USER name through /etc/passwd -> ../../…/host passwd',
      dockerfile: `${FROM}\nRUN ln -sf ${UP}${C.slice(1)}/passwd /etc/passwd\nUSER hostonly\nRUN true\n`,
      exit: 1,
      hostRead: true,
      message: /unable to find user hostonly/,
    },
    {
      name: 'WORKDIR with USER name through /etc/passwd -> a host passwd',
      dockerfile: `${FROM}\nRUN ln -sf ${C}/passwd /etc/passwd\nUSER hostonly\nWORKDIR /w\n`,
      exit: 1,
      hostRead: true,
      message: /unable to find user hostonly/,
    },
    {
      name: '/etc/passwd -> a character device (a /dev/zero in the layer)',
      dockerfile: `${FROM}\nRUN mknod /etc/zero c 1 5 && ln -sf /etc/zero /etc/passwd\nUSER nobody\nRUN true\n`,
      exit: 1,
      message: /passwd.*not a regular file/,
    },
    {
      name: '/etc/passwd of 9 MiB',
      dockerfile: `${FROM}\nRUN dd if=/dev/zero of=/etc/passwd bs=1M count=9 2>/dev/null\nUSER nobody\nRUN true\n`,
      exit: 1,
      message: /passwd.*larger than/,
    },
    // oci-layout bases
    {
      name: 'FROM oci-layout:// a dir outside the context',
      dockerfile: `FROM oci-layout://${C}/layout\nRUN true\n`,
      exit: 1,
      hostRead: true,
      message: /outside the build context[\s\S]*--allow fs\.read=/,
    },
    {
      name: 'FROM oci-layout:// a relative path climbing out of the context',
      dockerfile: `FROM oci-layout://${UP}${C.slice(1)}/layout\nRUN true\n`,
      exit: 1,
      hostRead: true,
      message: /Dockerfile:1:1: .*is outside the build context/,
    },
    {
      name: 'FROM oci-layout:// a layout inside the context (allowed)',
      setup: (ctx) => cp(BASE_LAYOUT, join(ctx, 'layout'), { recursive: true }),
      dockerfile: `FROM oci-layout://layout\nRUN touch /escapee-ok\n`,
      exit: 0,
      check: (r) => expectFile(r, '/escapee-ok', ''),
    },
    {
      name: 'FROM oci-layout:// outside the context with --allow fs.read of a parent',
      dockerfile: `FROM oci-layout://${C}/layout\nRUN true\n`,
      extraArgs: ['--allow', `fs.read=${C}`],
      exit: 0,
    },
    {
      name: 'FROM oci-layout:// a context symlink leaving the context',
      files: { out: { symlink: `${C}/layout` } },
      dockerfile: `FROM oci-layout://out\nRUN true\n`,
      exit: 1,
      hostRead: true,
      message: /outside the build context/,
    },
  ];
};

async function build(dir: string, dockerfile: string, extraArgs: string[] = [], state = stateRoot): Promise<CliResult> {
  if (dockerfile) await writeFile(join(dir, 'context', 'Dockerfile'), dockerfile);
  return runCli(['--progress=plain', '-o', `type=local,dest=${join(dir, 'out')}`, ...extraArgs, join(dir, 'context')], {
    env: { TSBUILD_ROOT: state },
  });
}

describe('path escapes', () => {
  beforeAll(async () => {
    work = await mkdtemp(join(tmpdir(), 'tsbuild-escapes-'));
    await mkdir(canary);
    stateRoot = join(work, 'state');
    await writeContext(canary, {
      'victim.txt': { content: `${CANARY_TEXT}\n`, mode: 0o600 },
      'dir/inner.txt': CANARY_TEXT,
      passwd: 'root:x:0:0:root:/root:/bin/sh\nhostonly:x:4242:4242::/:/bin/sh\n',
      group: 'root:x:0:\nhostgroup:x:4242:\n',
      // not a valid .dockerignore: a parser that read it would quote it in its error
      ignore: `[${CANARY_TEXT}\n`,
    });
    // a whole layout: a build that read it would succeed, so a refusal is told from a failed read
    await cp(BASE_LAYOUT, join(canary, 'layout'), { recursive: true });
  });

  afterAll(async () => {
    console.log(
      `path escapes: ${tried} tried, ${escaped.length} escaped${escaped.length ? `: ${escaped.join('; ')}` : ''}`,
    );
    await rm(work, { recursive: true, force: true });
    await rm(canary, { recursive: true, force: true });
  });

  ATTEMPTS().forEach((a, i) => {
    it(a.name, async () => {
      const dir = join(work, String(i));
      await mkdir(join(dir, 'context'), { recursive: true });
      await writeContext(join(dir, 'context'), { ...a.files });
      await a.setup?.(join(dir, 'context'));
      const before = await fingerprint(canary);
      tried++;
      const res = await build(dir, a.dockerfile, a.extraArgs);
      const after = await fingerprint(canary);
      const lost = [...(await strays(work)), ...(await strays(canary))];
      const leaked = (res.stdout + res.stderr).includes(CANARY_TEXT);
      const read = a.hostRead && res.exitCode === 0;
      if (JSON.stringify([...before]) !== JSON.stringify([...after]) || lost.length || leaked || read)
        escaped.push(a.name);
      expect(after, 'the canary dir is unchanged').toEqual(before);
      expect(lost, 'nothing written outside an image').toEqual([]);
      expect(leaked, 'no host content in the output').toBe(false);
      expect(res.exitCode, res.stderr).toBe(a.exit);
      if (a.message) expect(res.stderr).toMatch(a.message);
      if (a.check) await a.check(join(dir, 'out'));
    });
  });
});

/** Paths that are the Dockerfile's fault: a clear error at the instruction (exit 1), never exit 70. */
describe('paths the Dockerfile got wrong', () => {
  let dir: string;
  let badState: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'tsbuild-badpaths-'));
    badState = join(dir, 'state');
    await writeContext(join(dir, 'context'), { f: 'x', loop: { symlink: 'loop' } });
  });
  afterAll(async () => rm(dir, { recursive: true, force: true }));

  for (const [name, dockerfile, message] of [
    [
      'a symlink loop as a bind mount source',
      `${FROM}\nRUN --mount=type=bind,source=loop,target=/m true\n`,
      /Dockerfile:2:1: .*too many levels of symbolic links/,
    ],
    [
      'a symlink loop as a COPY destination',
      `${FROM}\nRUN ln -s /loop /loop\nCOPY f /loop/x\n`,
      /Dockerfile:3:1: .*too many levels of symbolic links/,
    ],
    [
      'a symlink loop as WORKDIR',
      `${FROM}\nRUN ln -s /loop /loop\nWORKDIR /loop/x\n`,
      /Dockerfile:3:1: .*too many levels of symbolic links/,
    ],
    [
      'a symlink loop as a bind source from a stage',
      `${FROM} AS s\nRUN ln -s /l /l\n${FROM}\nRUN --mount=type=bind,from=s,source=/l,target=/m true\n`,
      /Dockerfile:4:1: .*too many levels of symbolic links/,
    ],
    [
      'WORKDIR under a file',
      `${FROM}\nRUN touch /file\nWORKDIR /file/sub\n`,
      /Dockerfile:3:1: .*\/file exists and is not a directory/,
    ],
    [
      'a NUL byte in a COPY destination',
      `${FROM}\nCOPY f /x\0y\n`,
      /Dockerfile:2:1: COPY destination .* contains a NUL byte/,
    ],
    [
      'a NUL byte in a relative ADD destination',
      `${FROM}\nWORKDIR /w\nADD f rel\0x\n`,
      /Dockerfile:3:1: ADD destination .* contains a NUL byte/,
    ],
    ['a NUL byte in a COPY source', `${FROM}\nCOPY f\0x /x\n`, /Dockerfile:2:1: COPY source .* contains a NUL byte/],
    [
      'a NUL byte in a heredoc destination',
      `${FROM}\nCOPY <<EOF /x\0y\nhi\nEOF\n`,
      /Dockerfile:2:1: COPY destination .* contains a NUL byte/,
    ],
    [
      'a NUL byte in a heredoc name',
      `${FROM}\nCOPY <<E\0F /x/\nhi\nE\0F\n`,
      /Dockerfile:2:1: heredoc name .* contains a NUL byte/,
    ],
    ['a NUL byte in WORKDIR', `${FROM}\nWORKDIR /a\0b\n`, /Dockerfile:2:1: WORKDIR .* contains a NUL byte/],
    [
      'a NUL byte in a mount target',
      `${FROM}\nRUN --mount=type=tmpfs,target=/a\0b true\n`,
      /Dockerfile:2:1: .*target contains a NUL byte/,
    ],
    [
      'a NUL byte in a mount source',
      `${FROM}\nRUN --mount=type=bind,source=f\0g,target=/m true\n`,
      /Dockerfile:2:1: .*source contains a NUL byte/,
    ],
  ] as const) {
    it(name, async () => {
      const res = await build(dir, dockerfile, [], badState);
      expect(res.exitCode, res.stderr).toBe(1);
      expect(res.stderr).toMatch(message);
    });
  }
});
