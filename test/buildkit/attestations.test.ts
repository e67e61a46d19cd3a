/**
 * BuildKit's frontend/dockerfile/dockerfile_provenance_test.go (and dockerfile_sbom_test.go) against
 * our CLI: `--attest type=provenance,…` is BuildKit's `attest:provenance` frontend attribute. Images
 * are pushed to the registry on 127.0.0.1:5000 under names of this run and read back with skopeo
 * (the index, the attestation manifest) and the distribution API (the statement blob).
 *
 * BuildKit's `busybox:latest` is our busybox layout pushed to that registry, so a material reads
 * `pkg:docker/127.0.0.1:5000/…/busybox@latest` where BuildKit's reads `pkg:docker/busybox@latest`.
 * Fields tsbuild does not fill (README "Attestations": VCS info, the Dockerfile frontend's version)
 * are left unasserted, each with a comment where the Go test asserts it.
 */
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join, normalize } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from '../helpers/build-fixture.js';
import { FROM_BASE, rig, type Rig } from './behaviours-rig.js';

const run = promisify(execFile);
const REGISTRY = '127.0.0.1:5000';
const RUN_ID = Date.now().toString(36);
const HOST_PLATFORM = 'linux/amd64';

const rigs: Rig[] = [];
const cleanups: (() => Promise<void>)[] = [];
afterAll(async () => {
  for (const r of rigs) await r.cleanup();
  for (const c of cleanups.reverse()) await c();
});
async function open(files: Record<string, string>): Promise<Rig> {
  const r = await rig(files);
  rigs.push(r);
  return r;
}

// biome-ignore lint/suspicious/noExplicitAny: statements are JSON, read by path as the Go tests read their structs
type Json = any;
interface Entry {
  mediaType: string;
  digest: string;
  size: number;
  annotations?: Record<string, string>;
  platform?: { os: string; architecture: string; variant?: string };
}

async function rawManifest(ref: string): Promise<Json> {
  return JSON.parse((await run('skopeo', ['inspect', '--tls-verify=false', '--raw', `docker://${ref}`])).stdout);
}

async function blob(repo: string, digest: string): Promise<Json> {
  const res = await fetch(`http://${REGISTRY}/v2/${repo}/blobs/${digest}`);
  expect(res.status).toBe(200);
  return JSON.parse(await res.text());
}

/** The pushed index, each image by platform, and the statement attesting each (testutil.ReadImages' view). */
async function readAttested(ref: string): Promise<{
  index: { mediaType: string; manifests: Entry[] };
  images: Map<string, Entry>;
  attestations: { desc: Entry; manifest: Json; statement: Json }[];
}> {
  const repo = ref.slice(REGISTRY.length + 1).replace(/[:@].*$/, '');
  const index = await rawManifest(ref);
  const images = new Map<string, Entry>();
  const attestations: { desc: Entry; manifest: Json; statement: Json }[] = [];
  for (const m of index.manifests as Entry[]) {
    const p = `${m.platform?.os}/${m.platform?.architecture}`;
    if (p !== 'unknown/unknown') {
      images.set(p, m);
      continue;
    }
    const manifest = await rawManifest(`${REGISTRY}/${repo}@${m.digest}`);
    attestations.push({ desc: m, manifest, statement: await blob(repo, manifest.layers[0].digest) });
  }
  return { index, images, attestations };
}

let busybox = '';
beforeAll(async () => {
  // BuildKit's busybox:latest, in the local registry
  busybox = `${REGISTRY}/attest${RUN_ID}/busybox:latest`;
  const r = await open({ Dockerfile: `FROM ${FROM_BASE}\n` });
  const res = await r.cli(['-t', busybox, '--push']);
  expect(res.exitCode, res.stderr).toBe(0);
}, 120_000);

const name = (what: string, tag = 'latest'): string => `${REGISTRY}/attest${RUN_ID}/${what}:${tag}`;

describe('BuildKit provenance attestations (dockerfile_provenance_test.go)', () => {
  it('testProvenanceAttestation (each SLSA version and mode; pushed)', async () => {
    const dockerfile = `FROM ${busybox}\nRUN echo "ok" > /foo\n`;
    const r = await open({ Dockerfile: dockerfile });
    for (const version of ['', 'v1', 'v0.2']) {
      for (const mode of ['', 'min', 'max']) {
        const target = name('testwithprovenance', `${version || 'default'}-${mode || 'default'}`);
        const attest = [
          'type=provenance',
          ...(version ? [`version=${version}`] : []),
          ...(mode ? [`mode=${mode}`] : []),
        ];
        const res = await r.cli([
          '--attest',
          attest.join(','),
          '--build-arg',
          'FOO=bar',
          '--label',
          'lbl=abc',
          '-t',
          target,
          '--push',
        ]);
        expect(res.exitCode, res.stderr).toBe(0);
        const { index, images, attestations } = await readAttested(target);
        expect(index.manifests).toHaveLength(2);
        const img = images.get(HOST_PLATFORM)!;
        expect(img).toBeDefined();
        const att = attestations[0]!;
        expect(att.desc.annotations?.['vnd.docker.reference.digest']).toBe(img.digest);
        expect(att.desc.annotations?.['vnd.docker.reference.type']).toBe('attestation-manifest');
        expect(att.manifest.layers[0].mediaType).toBe('application/vnd.in-toto+json');
        const stmt = att.statement;
        expect(stmt._type).toBe('https://in-toto.io/Statement/v1');
        expect(stmt.subject[0].digest.sha256).toBe(img.digest.replace('sha256:', ''));
        const max = mode === 'max' || mode === '';
        const pred = stmt.predicate;
        const since = (t: string): number => Date.now() - Date.parse(t);
        if (version === '' || version === 'v1') {
          expect(stmt.predicateType).toBe('https://slsa.dev/provenance/v1');
          expect(pred.buildDefinition.buildType).toBe(
            'https://github.com/moby/buildkit/blob/master/docs/attestations/slsa-definitions.md',
          );
          expect(pred.runDetails.builder.id).toBe('');
          expect(pred.buildDefinition.externalParameters.configSource.uri).toBeUndefined();
          const request = pred.buildDefinition.externalParameters.request;
          expect(request.frontend).toBe('dockerfile.v0');
          // the Go test also sends context:foo=<URL>, which it counts (3 and 1); tsbuild fetches a
          // URL build context before the build, so it is not given here and the counts are one less
          if (max) {
            expect(Object.keys(request.args)).toHaveLength(2);
            expect(pred.runDetails.metadata.buildkit_completeness.request).toBe(true);
            expect(request.args['build-arg:FOO']).toBe('bar');
            expect(request.args['label:lbl']).toBe('abc');
          } else {
            expect(pred.runDetails.metadata.buildkit_completeness.request).toBe(false);
            expect(Object.keys(request.args)).toHaveLength(0);
          }
          const deps = pred.buildDefinition.resolvedDependencies;
          expect(deps).toHaveLength(1);
          expect(deps[0].uri).toBe(`pkg:docker/${busybox.replace(':latest', '@latest')}?platform=linux%2Famd64`);
          expect(deps[0].digest.sha256).toMatch(/^[0-9a-f]{64}$/);
          expect(pred.buildDefinition.externalParameters.configSource.path).toBe('Dockerfile');
          // VCS (vcs:source, vcs:revision) is buildx's git detection: tsbuild records none
          expect(pred.runDetails.metadata.invocationId).not.toBe('');
          expect(request.locals.map((l: { name: string }) => l.name)).toEqual(['context', 'dockerfile']);
          const { startedOn, finishedOn } = pred.runDetails.metadata;
          expect(since(finishedOn)).toBeLessThan(5 * 60_000);
          expect(since(startedOn)).toBeLessThan(5 * 60_000);
          expect(Date.parse(startedOn)).toBeLessThan(Date.parse(finishedOn));
          expect(pred.buildDefinition.internalParameters.builderPlatform).toBe(HOST_PLATFORM);
          expect(pred.runDetails.metadata.buildkit_completeness.resolvedDependencies).toBe(false);
          expect(pred.runDetails.metadata.buildkit_reproducible).toBe(false);
          const meta = pred.runDetails.metadata.buildkit_metadata;
          if (max) {
            expect(Object.keys(meta.layers)).toHaveLength(2);
            expect(meta.source.infos[0].filename).toBe('Dockerfile');
            expect(Buffer.from(meta.source.infos[0].data, 'base64').toString()).toBe(dockerfile);
            // BuildKit's LLB has 3 ops here (image, exec, the return); tsbuild's steps are FROM and RUN
            expect(pred.buildDefinition.internalParameters.buildConfig.llbDefinition).toHaveLength(2);
          } else {
            expect(meta.layers).toBeUndefined();
            expect(meta.source).toBeUndefined();
            expect(pred.buildDefinition.internalParameters.buildConfig).toBeUndefined();
          }
        } else {
          expect(stmt.predicateType).toBe('https://slsa.dev/provenance/v0.2');
          expect(pred.buildType).toBe('https://mobyproject.org/buildkit@v1');
          expect(pred.builder.id).toBe('');
          expect(pred.invocation.configSource.uri).toBeUndefined();
          const params = pred.invocation.parameters;
          expect(params.frontend).toBe('dockerfile.v0');
          if (max) {
            expect(Object.keys(params.args)).toHaveLength(2);
            expect(pred.metadata.completeness.parameters).toBe(true);
            expect(params.args['build-arg:FOO']).toBe('bar');
            expect(params.args['label:lbl']).toBe('abc');
          } else {
            expect(pred.metadata.completeness.parameters).toBe(false);
            expect(Object.keys(params.args)).toHaveLength(0);
          }
          expect(pred.materials).toHaveLength(1);
          expect(pred.materials[0].uri).toBe(
            `pkg:docker/${busybox.replace(':latest', '@latest')}?platform=linux%2Famd64`,
          );
          expect(pred.materials[0].digest.sha256).toMatch(/^[0-9a-f]{64}$/);
          expect(pred.invocation.configSource.entryPoint).toBe('Dockerfile');
          expect(pred.metadata.buildInvocationID).not.toBe('');
          expect(params.locals.map((l: { name: string }) => l.name)).toEqual(['context', 'dockerfile']);
          expect(since(pred.metadata.buildFinishedOn)).toBeLessThan(5 * 60_000);
          expect(Date.parse(pred.metadata.buildStartedOn)).toBeLessThan(Date.parse(pred.metadata.buildFinishedOn));
          expect(pred.metadata.completeness.environment).toBe(true);
          expect(pred.invocation.environment.platform).toBe(HOST_PLATFORM);
          expect(pred.metadata.completeness.materials).toBe(false);
          expect(pred.metadata.reproducible).toBe(false);
          const meta = pred.metadata['https://mobyproject.org/buildkit@v1#metadata'];
          if (max) {
            expect(Object.keys(meta.layers)).toHaveLength(2);
            expect(meta.source.infos[0].filename).toBe('Dockerfile');
            expect(Buffer.from(meta.source.infos[0].data, 'base64').toString()).toBe(dockerfile);
            expect(pred.buildConfig.llbDefinition).toHaveLength(2);
          } else {
            expect(meta.layers).toBeUndefined();
            expect(meta.source).toBeUndefined();
            expect(pred.buildConfig).toBeUndefined();
          }
        }
      }
    }
  }, 300_000);

  it('testMultiPlatformProvenance (pushed; arm64 runs under QEMU)', async () => {
    const r = await open({
      Dockerfile: `FROM ${busybox}\nARG TARGETARCH\nRUN echo "ok-$TARGETARCH" > /foo\n`,
    });
    const target = name('multiplatformprovenance');
    const res = await r.cli([
      '--attest',
      'type=provenance,mode=max',
      '--build-arg',
      'FOO=bar',
      '--label',
      'lbl=abc',
      '--platform',
      'linux/amd64,linux/arm64',
      '-t',
      target,
      '--push',
    ]);
    expect(res.exitCode, res.stderr).toBe(0);
    const { index, images, attestations } = await readAttested(target);
    expect(index.manifests).toHaveLength(4);
    for (const p of ['linux/amd64', 'linux/arm64']) {
      const img = images.get(p)!;
      expect(img).toBeDefined();
      const att = attestations.find((a) => a.desc.annotations?.['vnd.docker.reference.digest'] === img.digest)!;
      expect(att.desc.annotations?.['vnd.docker.reference.type']).toBe('attestation-manifest');
      expect(att.statement._type).toBe('https://in-toto.io/Statement/v1');
      expect(att.statement.predicateType).toBe('https://slsa.dev/provenance/v1');
      const pred = att.statement.predicate;
      expect(pred.buildDefinition.buildType).toBe(
        'https://github.com/moby/buildkit/blob/master/docs/attestations/slsa-definitions.md',
      );
      expect(pred.runDetails.builder.id).toBe('');
      expect(pred.buildDefinition.externalParameters.configSource.uri).toBeUndefined();
      const deps = pred.buildDefinition.resolvedDependencies;
      expect(deps).toHaveLength(1);
      expect(deps[0].uri).toContain('busybox@latest');
      expect(deps[0].uri).toContain(encodeURIComponent(p));
      const args = pred.buildDefinition.externalParameters.request.args;
      expect(Object.keys(args)).toHaveLength(2);
      expect(args['build-arg:FOO']).toBe('bar');
      expect(args['label:lbl']).toBe('abc');
    }
  }, 300_000);

  it('testSecretSSHProvenance (mode=max records the secret and ssh ids, optional)', async () => {
    const r = await open({
      Dockerfile: `FROM ${busybox}\nRUN --mount=type=secret,id=mysecret --mount=type=secret,id=othersecret --mount=type=ssh echo "ok" > /foo\n`,
    });
    const target = name('testsecretprovenance');
    const res = await r.cli(['--attest', 'type=provenance,mode=max', '-t', target, '--push']);
    expect(res.exitCode, res.stderr).toBe(0);
    const { index, attestations } = await readAttested(target);
    expect(index.manifests).toHaveLength(2);
    const request = attestations[0]!.statement.predicate.buildDefinition.externalParameters.request;
    expect(request.secrets).toEqual([
      { id: 'mysecret', optional: true },
      { id: 'othersecret', optional: true },
    ]);
    expect(request.ssh).toEqual([{ id: 'default', optional: true }]);
  }, 120_000);

  it('testOCILayoutProvenance (a --build-context oci-layout is a pkg:oci material with its digest)', async () => {
    const layoutIndex = JSON.parse(await readFile(join(FROM_BASE.slice('oci-layout://'.length), 'index.json'), 'utf8'));
    const digest: string = layoutIndex.manifests[0].digest;
    const r = await open({ Dockerfile: 'FROM foo\nCOPY <<EOF /bar\nbar\nEOF\n' });
    const target = name('testocilayoutprovenance');
    const res = await r.cli([
      '--build-context',
      `foo=${FROM_BASE}@${digest}`,
      '--attest',
      'type=provenance,mode=max',
      '-t',
      target,
      '--push',
    ]);
    expect(res.exitCode, res.stderr).toBe(0);
    const { index, attestations } = await readAttested(target);
    expect(index.manifests).toHaveLength(2);
    const deps = attestations[0]!.statement.predicate.buildDefinition.resolvedDependencies;
    expect(deps).toHaveLength(1);
    expect(deps[0].uri.split('/')[0]).toBe('pkg:oci');
    expect(deps[0].digest.sha256).toBe(digest.replace('sha256:', ''));
  }, 120_000);

  it('testNilProvenance (an image with no layer, each output, one and two platforms)', async () => {
    const r = await open({ Dockerfile: 'FROM scratch\nENV FOO=bar\n' });
    for (const multi of [false, true]) {
      const platform = multi ? ['--platform', 'linux/amd64,linux/arm64'] : [];
      const attest = ['--attest', 'type=provenance,mode=max'];
      const image = await r.cli([
        ...attest,
        ...platform,
        '-t',
        name('testnilprovenance', multi ? 'multi' : 'single'),
        '--push',
      ]);
      expect(image.exitCode, image.stderr).toBe(0);
      const local = await r.local([...attest, ...platform]);
      expect(local.exitCode, local.stderr).toBe(0);
      const tar = await r.cli([...attest, ...platform, '-o', `type=tar,dest=${join(r.fx.dir, `nil-${multi}.tar`)}`]);
      expect(tar.exitCode, tar.stderr).toBe(0);
    }
  }, 180_000);

  it('testDuplicatePlatformProvenance (linux/amd64 twice is one platform)', async () => {
    const r = await open({ Dockerfile: `FROM ${busybox} AS base-linux\nFROM base-$TARGETOS\n` });
    const res = await r.cli(['--attest', 'type=provenance,mode=max', '--platform', 'linux/amd64,linux/amd64']);
    expect(res.exitCode, res.stderr).toBe(0);
  }, 120_000);

  it('testProvenanceExportLocal (provenance.json beside the files)', async () => {
    const r = await open({
      Dockerfile: `FROM ${busybox} AS base\nCOPY <<EOF /out/foo\nok\nEOF\n\nFROM scratch\nCOPY --from=base /out /\n`,
    });
    const res = await r.local(['--attest', 'type=provenance,mode=max']);
    expect(res.exitCode, res.stderr).toBe(0);
    expect(await res.read('foo')).toBe('ok\n');
    const stmt = JSON.parse(await res.read('provenance.json'));
    expect(stmt.predicateType).toBe('https://slsa.dev/provenance/v1');
    expect(stmt.predicate.buildDefinition.buildType).toContain('slsa-definitions.md');
    // BuildKit's local exporter names each file of the output as a subject
    expect(stmt.subject).toEqual([
      { name: 'foo', digest: { sha256: createHash('sha256').update('ok\n').digest('hex') } },
    ]);
  }, 120_000);

  it('testProvenanceExportLocalForceSplit (platform-split=true: one platform in its directory too)', async () => {
    const r = await open({
      Dockerfile: `FROM ${busybox} AS base\nCOPY <<EOF /out/foo\nok\nEOF\n\nFROM scratch\nCOPY --from=base /out /\n`,
    });
    const out = join(r.fx.dir, 'forcesplit');
    const res = await r.cli([
      '--attest',
      'type=provenance,mode=max',
      '-o',
      `type=local,dest=${out},platform-split=true`,
    ]);
    expect(res.exitCode, res.stderr).toBe(0);
    expect(await readFile(join(out, 'linux_amd64/foo'), 'utf8')).toBe('ok\n');
    const stmt = JSON.parse(await readFile(join(out, 'linux_amd64/provenance.json'), 'utf8'));
    expect(stmt.predicateType).toBe('https://slsa.dev/provenance/v1');
  }, 120_000);

  it('testProvenanceExportLocalMultiPlatform (one provenance.json per platform directory)', async () => {
    const r = await open({
      Dockerfile: `FROM ${busybox} AS base\nCOPY <<EOF /out/foo\nok\nEOF\n\nFROM scratch\nCOPY --from=base /out /\n`,
    });
    const res = await r.local(['--attest', 'type=provenance,mode=max', '--platform', 'linux/amd64,linux/arm64']);
    expect(res.exitCode, res.stderr).toBe(0);
    for (const platform of ['linux_amd64', 'linux_arm64']) {
      expect(await res.read(`${platform}/foo`)).toBe('ok\n');
      const stmt = JSON.parse(await res.read(`${platform}/provenance.json`));
      expect(stmt.predicate.buildDefinition.externalParameters.request.frontend).toBe('dockerfile.v0');
    }
  }, 120_000);

  it('testProvenanceExportLocalMultiPlatformNoSplit (platform-split=false: one directory, provenance.<platform>.json each)', async () => {
    const r = await open({
      Dockerfile: `FROM ${busybox} AS base\nARG TARGETARCH\nCOPY <<EOF /out/foo_\${TARGETARCH}\nok\nEOF\n\nFROM scratch\nCOPY --from=base /out /\n`,
    });
    const out = join(r.fx.dir, 'nosplit');
    const res = await r.cli([
      '--attest',
      'type=provenance,mode=max',
      '--platform',
      'linux/amd64,linux/arm64',
      '-o',
      `type=local,dest=${out},platform-split=false`,
    ]);
    expect(res.exitCode, res.stderr).toBe(0);
    for (const arch of ['amd64', 'arm64']) {
      expect(await readFile(join(out, `foo_${arch}`), 'utf8')).toBe('ok\n');
      const stmt = JSON.parse(await readFile(join(out, `provenance.linux_${arch}.json`), 'utf8'));
      expect(stmt.predicate.buildDefinition.externalParameters.request.frontend).toBe('dockerfile.v0');
    }
  }, 120_000);

  it('type=docker drops the attestation, as buildx does; type=oci keeps it in the index', async () => {
    const r = await open({ Dockerfile: `FROM ${busybox}\nRUN echo ok > /foo\n` });
    const plain = join(r.fx.dir, 'plain.tar');
    const attested = join(r.fx.dir, 'attested.tar');
    const docker = join(r.fx.dir, 'docker.tar');
    expect((await r.cli(['-o', `type=oci,dest=${plain}`])).exitCode).toBe(0);
    const res = await r.cli([
      '--provenance=true',
      '-o',
      `type=oci,dest=${attested}`,
      '-o',
      `type=docker,dest=${docker}`,
    ]);
    expect(res.exitCode, res.stderr).toBe(0);
    const indexOf = async (tar: string, file: string): Promise<Json> =>
      JSON.parse((await run('tar', ['-xOf', tar, file])).stdout);
    const plainTop = (await indexOf(plain, 'index.json')).manifests[0];
    const top = (await indexOf(attested, 'index.json')).manifests[0];
    expect(top.mediaType).toBe('application/vnd.oci.image.index.v1+json');
    const inner = await indexOf(attested, `blobs/sha256/${top.digest.slice(7)}`);
    // the image's own manifest is the one built without attestations
    expect(inner.manifests[0].digest).toBe(plainTop.digest);
    expect(inner.manifests[1].platform).toEqual({ architecture: 'unknown', os: 'unknown' });
    const att = await indexOf(attested, `blobs/sha256/${inner.manifests[1].digest.slice(7)}`);
    expect(att.layers[0].annotations['in-toto.io/predicate-type']).toBe('https://slsa.dev/provenance/v1');
    // --provenance=true is buildx's mode=min
    const stmt = await indexOf(attested, `blobs/sha256/${att.layers[0].digest.slice(7)}`);
    expect(stmt.predicate.buildDefinition.internalParameters.buildConfig).toBeUndefined();
    const manifest = await indexOf(docker, 'manifest.json');
    expect(manifest).toHaveLength(1);
    const dockerFiles = (await run('tar', ['-tf', docker])).stdout;
    expect(dockerFiles).not.toContain(att.layers[0].digest.slice(7));
    expect(dockerFiles).not.toContain(inner.manifests[1].digest.slice(7));
  }, 120_000);

  it('ADD of a URL and of a git ref are materials with the digest and commit the build used', async () => {
    const { url, commit } = await servedRepo('sha1', 'FROM scratch\n');
    const r = await open({
      Dockerfile: `FROM ${busybox}\nADD ${url}/src/myapp.Dockerfile /dl\nADD ${url}/.git#v1 /repo\n`,
    });
    const res = await r.local(['--attest', 'type=provenance,mode=min,version=v0.2']);
    expect(res.exitCode, res.stderr).toBe(0);
    const materials = JSON.parse(await res.read('provenance.json')).predicate.materials;
    expect(materials).toHaveLength(3);
    expect(materials[1]).toEqual({
      uri: `${url}/src/myapp.Dockerfile`,
      digest: { sha256: createHash('sha256').update('FROM scratch\n').digest('hex') },
    });
    expect(materials[2]).toEqual({ uri: `${url}/.git#v1`, digest: { sha1: commit } });
  }, 120_000);

  it('--attest type=sbom is refused: tsbuild has no SBOM scanner', async () => {
    const r = await open({ Dockerfile: 'FROM scratch\n' });
    const res = await r.cli(['--attest', 'type=sbom']);
    expect(res.exitCode).toBe(2);
    expect(res.stderr).toMatch(/no SBOM attestations/);
  });

  /** A git repository served over git's dumb HTTP protocol (BuildKit's httpserver of the work tree). */
  async function servedRepo(format: 'sha1' | 'sha256', dockerfile: string): Promise<{ url: string; commit: string }> {
    const dir = await mkdtemp(join(tmpdir(), 'tsb-attest-git-'));
    cleanups.push(() => rm(dir, { recursive: true, force: true }));
    await mkdir(join(dir, 'src'));
    await writeFile(join(dir, 'src/myapp.Dockerfile'), dockerfile);
    const sh = (cmd: string) => run('sh', ['-ec', cmd], { cwd: dir });
    await sh(
      `git init -q${format === 'sha256' ? ' --object-format=sha256' : ''} && git config --local user.email test && ` +
        'git config --local user.name test && git add src/myapp.Dockerfile && git commit -q -m initial && ' +
        'git branch v1 && git update-server-info',
    );
    const commit = (await sh('git rev-parse v1')).stdout.trim();
    const server: Server = createServer(async (req, res) => {
      const file = normalize(join(dir, decodeURIComponent((req.url ?? '/').split('?')[0]!)));
      if (!file.startsWith(dir)) return void res.writeHead(403).end();
      try {
        res.writeHead(200).end(await readFile(file));
      } catch {
        res.writeHead(404).end();
      }
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    cleanups.push(() => new Promise((r) => server.close(() => r())));
    return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, commit };
  }

  /**
   * The body of testGitProvenanceAttestationSHA1/SHA256: a git context's provenance names the
   * repository as its config source and as a material by commit. BuildKit also counts the build
   * complete and hermetic here (every source pinned, RUN without network); tsbuild does not judge
   * that and leaves both false.
   */
  async function testGitProvenanceAttestation(format: 'sha1' | 'sha256'): Promise<void> {
    const dockerfile = `FROM ${busybox}\nRUN --network=none echo "git" > /foo\nCOPY myapp.Dockerfile /\n`;
    const { url, commit } = await servedRepo(format, dockerfile);
    const r = await open({ Dockerfile: 'FROM scratch\n' });
    for (const version of ['v1', 'v0.2']) {
      const target = name('testwithprovenance', `git-${format}-${version}`);
      const res = await runCli(
        [
          'build',
          '--progress=plain',
          '--attest',
          `type=provenance,mode=max,version=${version}`,
          '-f',
          'myapp.Dockerfile',
          '-t',
          target,
          '--push',
          `${url}/.git#v1:src`,
        ],
        { env: { TSBUILD_ROOT: r.fx.stateRoot } },
      );
      expect(res.exitCode, res.stderr).toBe(0);
      const { index, images, attestations } = await readAttested(target);
      expect(index.manifests).toHaveLength(2);
      const img = images.get(HOST_PLATFORM)!;
      const att = attestations[0]!;
      expect(att.desc.annotations?.['vnd.docker.reference.digest']).toBe(img.digest);
      expect(att.statement._type).toBe('https://in-toto.io/Statement/v1');
      const pred = att.statement.predicate;
      const expBase = `pkg:docker/${busybox.replace(':latest', '@latest')}?platform=linux%2Famd64`;
      if (version === 'v1') {
        expect(att.statement.predicateType).toBe('https://slsa.dev/provenance/v1');
        expect(pred.buildDefinition.externalParameters.request.frontend).not.toBe('');
        expect(pred.buildDefinition.externalParameters.configSource.uri).toBe(`${url}/.git#v1:src`);
        expect(pred.buildDefinition.externalParameters.configSource.path).toBe('myapp.Dockerfile');
        const deps = pred.buildDefinition.resolvedDependencies;
        expect(deps).toHaveLength(2);
        expect(deps[0].uri).toBe(expBase);
        expect(deps[0].digest.sha256).toMatch(/^[0-9a-f]{64}$/);
        expect(deps[1].uri).toBe(`${url}/.git#v1`);
        expect(deps[1].digest[format]).toBe(commit);
        expect(pred.buildDefinition.externalParameters.request.locals).toHaveLength(0);
        expect(pred.runDetails.metadata.buildkit_completeness.request).toBe(true);
        expect(pred.runDetails.metadata.buildkit_reproducible).toBe(false);
        expect(pred.runDetails.metadata.buildkit_metadata.vcs).toBeUndefined();
      } else {
        expect(att.statement.predicateType).toBe('https://slsa.dev/provenance/v0.2');
        expect(pred.invocation.configSource.uri).toBe(`${url}/.git#v1:src`);
        expect(pred.invocation.configSource.entryPoint).toBe('myapp.Dockerfile');
        expect(pred.materials).toHaveLength(2);
        expect(pred.materials[0].uri).toBe(expBase);
        expect(pred.materials[1].uri).toBe(`${url}/.git#v1`);
        expect(pred.materials[1].digest[format]).toBe(commit);
        expect(pred.invocation.parameters.locals).toHaveLength(0);
      }
    }
  }
  describe('testGitProvenanceAttestation (the body of testGitProvenanceAttestationSHA1 and SHA256)', () => {
    it('testGitProvenanceAttestationSHA1', () => testGitProvenanceAttestation('sha1'), 180_000);
    it('testGitProvenanceAttestationSHA256', () => testGitProvenanceAttestation('sha256'), 180_000);
  });
  it.skip('testClientFrontendProvenance — a client-side gateway frontend (Go callback): tsbuild has no frontend gateway', () => {});
  it.skip('testGatewayBuiltinSyntaxSourceProvenance — a gateway frontend image as # syntax=: tsbuild has no frontend gateway', () => {});
  it.skip('testClientLLBProvenance — a client-made LLB definition: tsbuild takes Dockerfiles only', () => {});
  it.skip('testGatewayProvenanceRootRequest — frontend gateway requests: tsbuild has no frontend gateway', () => {});
  it.skip('testGatewayProvenanceSameCallbackInputProducer — frontend gateway inputs: tsbuild has no frontend gateway', () => {});
  it.skip('testGatewayProvenanceDifferentCallbackInputProducer — frontend gateway inputs: tsbuild has no frontend gateway', () => {});
  it.skip('testGatewayProvenancePlainLLBInputFallback — frontend gateway LLB inputs: tsbuild has no frontend gateway', () => {});
  it.skip('testGatewayProvenanceNestedInputProducer — frontend gateway inputs: tsbuild has no frontend gateway', () => {});
  it.skip('testDockerfileProvenanceInputProducer — gateway input producers (frontend inputs): tsbuild has no frontend gateway', () => {});
  it.skip('testDockerIgnoreMissingProvenance — a gateway frontend that deletes the context dir mid-solve: no tsbuild counterpart', () => {});
  it('testCommandSourceMapping (every step maps to one Dockerfile line, every line is covered)', async () => {
    const dockerfile = `FROM ${busybox}\nRUN echo "hello" > foo\nWORKDIR /tmp\nCOPY foo foo2\nCOPY --link foo foo3\nADD bar bar`;
    const r = await open({ Dockerfile: dockerfile, foo: 'foo', bar: 'bar' });
    const target = name('testcommandsourcemapping');
    const res = await r.cli(['--attest', 'type=provenance,mode=max', '-t', target, '--push']);
    expect(res.exitCode, res.stderr).toBe(0);
    const { index, attestations } = await readAttested(target);
    expect(index.manifests).toHaveLength(2);
    const pred = attestations[0]!.statement.predicate;
    const def: { id: string; op: { type: string } }[] =
      pred.buildDefinition.internalParameters.buildConfig.llbDefinition;
    const steps = new Map(def.map((s) => [s.id, s]));
    expect(steps.size).toBe(def.length);
    const src = pred.runDetails.metadata.buildkit_metadata.source;
    const lines = dockerfile.split('\n').map(() => false);
    for (const [id, loc] of Object.entries(src.locations) as [string, Json][]) {
      expect(steps.has(id), `definition for step ${id}`).toBe(true);
      expect(loc.locations).toHaveLength(1);
      for (const l of loc.locations)
        for (const range of l.ranges) {
          expect(range.start.line).toBe(range.end.line);
          const idx = range.start.line - 1;
          expect(idx >= 0 && idx < lines.length, `step ${id} line ${idx}`).toBe(true);
          lines[idx] = true;
        }
    }
    // (BuildKit's unmapped step is the context upload, local://context; tsbuild's steps all have a line)
    expect(lines.every(Boolean), JSON.stringify(lines)).toBe(true);
  }, 120_000);
  it.skip('testFrontendDeduplicateSources — asserts deduplicated LLB source infos across frontend inputs: no tsbuild counterpart', () => {});
  it("testDuplicateLayersProvenance (mode=max: the base step's layer chain, once)", async () => {
    const r = await open({
      Dockerfile: `FROM ${busybox} AS base\nFROM base AS a\nRUN date +%s > /a.txt\nFROM base AS b\nCOPY --from=a /a.txt /\nRUN date +%s > /b.txt\n`,
    });
    const target = name('testduplicatelayersprovenance');
    const res = await r.cli(['--attest', 'type=provenance,mode=max', '-t', target, '--push']);
    expect(res.exitCode, res.stderr).toBe(0);
    const { index, images, attestations } = await readAttested(target);
    expect(index.manifests).toHaveLength(2);
    const pred = attestations[0]!.statement.predicate;
    const layers = pred.runDetails.metadata.buildkit_metadata.layers;
    expect(layers).toBeDefined();
    // step0 is the base image (tsbuild's steps are numbered inputs first, as BuildKit's)
    expect(pred.buildDefinition.internalParameters.buildConfig.llbDefinition[0].op.type).toBe('image');
    expect(layers['step0:0']).toHaveLength(1);
    // its chain is the image's first layers, as pushed
    const manifest = await rawManifest(`${target.replace(/:latest$/, '')}@${images.get(HOST_PLATFORM)!.digest}`);
    expect(layers['step0:0'][0]).toEqual(
      manifest.layers
        .slice(0, layers['step0:0'][0].length)
        .map((l: Entry) => ({ mediaType: l.mediaType, digest: l.digest, size: l.size })),
    );
  }, 120_000);
});

describe('BuildKit SBOM attestations (dockerfile_sbom_test.go)', () => {
  it.skip('testSBOMScannerImage — tsbuild has no SBOM scanner (--attest type=sbom is refused)', () => {});
  it.skip('testSBOMScannerArgs — tsbuild has no SBOM scanner (--attest type=sbom is refused)', () => {});
});
