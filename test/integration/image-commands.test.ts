import { execFile, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { dockerdRunning } from '../helpers/dockerd.js';
import { runCli, TSBUILD } from '../helpers/build-fixture.js';

const run = promisify(execFile);

/** The image commands on the state directory's store, checked with skopeo (and docker where a dockerd answers). */
describe('build -t, images, tag, inspect, history, save, rmi, load, prune', () => {
  let dir: string;
  let state: string;
  let iid: string;
  const cli = (args: string[]) => runCli(args, { env: { TSBUILD_ROOT: state } });
  const sh = (cmd: string) =>
    spawnSync('sh', ['-c', cmd], { cwd: dir, env: { ...process.env, TSBUILD_ROOT: state }, encoding: 'utf8' });
  const blob = (digest: string) => join(state, 'content/blobs/sha256', digest.slice(7));

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'tsbuild-images-'));
    state = join(dir, 'state');
    const r = await cli([
      'build',
      '-t',
      'demo:1',
      '--iidfile',
      join(dir, 'iid'),
      '--metadata-file',
      join(dir, 'meta.json'),
      '--progress=plain',
      'fixtures/demo',
    ]);
    if (r.exitCode !== 0) throw new Error(r.stderr);
    iid = await readFile(join(dir, 'iid'), 'utf8');
    const meta = JSON.parse(await readFile(join(dir, 'meta.json'), 'utf8')) as Record<string, string>;
    // one image ID everywhere: printed, --iidfile, the metadata's config digest
    expect(iid).toMatch(/^sha256:[a-f0-9]{64}$/);
    expect(r.stderr).toContain(`\nimage ${iid}\n`);
    expect(meta['containerimage.config.digest']).toBe(iid);
    expect(r.stderr).toContain(`\nmanifest ${meta['containerimage.digest']}\n`);
  }, 120_000);
  afterAll(async () => {
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('`build` takes the build flags after it, as docker build does', async () => {
    const r = await cli(['build', '-t', 'x', 'no-such-dir']);
    expect(r.exitCode).toBe(2); // a usage error, as the README has it
    expect(r.stderr).toContain('build context "no-such-dir" is not a directory');
  });

  it('images lists the config digest as the ID, short and with --no-trunc', async () => {
    const json = await cli(['images', '--no-trunc', '--format', 'json']);
    const rows = json.stdout
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as Record<string, string>);
    expect(rows).toEqual([expect.objectContaining({ Repository: 'demo', Tag: '1', ID: iid })]);
    expect((await cli(['images', '-q'])).stdout).toBe(`${iid.slice(7, 19)}\n`);
    const table = (await cli(['images'])).stdout.split('\n');
    expect(table[0]).toMatch(/^REPOSITORY +TAG +IMAGE ID +CREATED +SIZE$/);
    expect(table[1]).toMatch(new RegExp(`^demo +1 +${iid.slice(7, 19)} +.* ago +[0-9.]+[kM]B$`));
  });

  it('tag adds a name that images, inspect and the reference filter see', async () => {
    expect((await cli(['tag', 'demo:1', 'demo:copy'])).exitCode).toBe(0);
    expect((await cli(['tag', iid.slice(7, 15), 'localhost:5000/other'])).exitCode).toBe(0);
    const names = (await cli(['images', '--format', '{{.Repository}}:{{.Tag}}', 'demo'])).stdout.trim().split('\n');
    expect(names.sort()).toEqual(['demo:1', 'demo:copy']);
    const [doc] = JSON.parse((await cli(['inspect', 'demo:copy'])).stdout) as Record<string, unknown>[];
    expect(doc!.Id).toBe(iid);
    expect((doc!.RepoTags as string[]).sort()).toEqual(['demo:1', 'demo:copy', 'localhost:5000/other:latest']);
    const config = JSON.parse((await readFile(blob(iid))).toString()) as {
      rootfs: { diff_ids: string[] };
      history: unknown[];
    };
    expect(doc!.RootFS).toEqual({ Type: 'layers', Layers: config.rootfs.diff_ids });
    expect((await cli(['inspect', '-f', '{{.Id}}', 'demo:1'])).stdout).toBe(`${iid}\n`);
    const missing = await cli(['inspect', 'demo:1', 'nope']);
    expect(missing.exitCode).toBe(1);
    expect(missing.stderr).toContain('No such image: nope');
  });

  it("history shows the config's steps, newest first, the ID on the top row", async () => {
    const config = JSON.parse((await readFile(blob(iid))).toString()) as { history: { created_by: string }[] };
    const rows = (await cli(['history', '--no-trunc', '--format', 'json', 'demo:1'])).stdout
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as Record<string, string>);
    expect(rows.map((r) => r.CreatedBy)).toEqual(config.history.map((h) => h.created_by).reverse());
    expect(rows[0]!.ID).toBe(iid);
    expect(rows.slice(1).every((r) => r.ID === '<missing>')).toBe(true);
    expect((await cli(['history', 'demo:1'])).stdout).toMatch(/^IMAGE +CREATED +CREATED BY +SIZE +COMMENT\n/);
  });

  it('save writes a docker archive (file or stdout) and an OCI archive that skopeo reads, with the same config', async () => {
    expect((await cli(['save', 'demo:1', 'demo:copy', '-o', join(dir, 'd.tar')])).exitCode).toBe(0);
    const cfg = (
      await run('skopeo', ['inspect', '--config', '--raw', `docker-archive:${join(dir, 'd.tar')}`], {
        encoding: 'buffer',
      })
    ).stdout;
    expect(`sha256:${createHash('sha256').update(cfg).digest('hex')}`).toBe(iid);
    const manifest = JSON.parse(
      await run('tar', ['-xOf', join(dir, 'd.tar'), 'manifest.json']).then((r) => r.stdout),
    ) as {
      RepoTags: string[];
    }[];
    expect(manifest.map((m) => m.RepoTags)).toEqual([['demo:1', 'demo:copy']]);
    expect(sh(`${TSBUILD} save --format oci demo:1 > o.tar`).status).toBe(0);
    const oci = JSON.parse((await run('skopeo', ['inspect', '--raw', `oci-archive:${join(dir, 'o.tar')}`])).stdout) as {
      config: { digest: string };
    };
    expect(oci.config.digest).toBe(iid);
  });

  it('rmi untags, load restores from our archive and from one skopeo made, prune then frees the blobs', async () => {
    const rmi = await cli(['rmi', 'demo:copy', 'demo:1', 'localhost:5000/other']);
    expect(rmi.stdout).toBe(
      `Untagged: demo:copy\nUntagged: demo:1\nUntagged: localhost:5000/other:latest\nDeleted: ${iid}\n`,
    );
    expect((await cli(['images', '-q'])).stdout).toBe('');
    expect((await cli(['rmi', 'demo:1'])).exitCode).toBe(1);

    const load = await cli(['load', '-i', join(dir, 'd.tar')]);
    expect(load.stdout).toBe('Loaded image: demo:1\nLoaded image: demo:copy\n');
    expect((await cli(['images', '--no-trunc', '-q', 'demo:1'])).stdout).toBe(`${iid}\n`);

    await run('skopeo', [
      'copy',
      '-q',
      `docker-archive:${join(dir, 'd.tar')}:demo:1`,
      `docker-archive:${join(dir, 'sk.tar')}:sk/app:2`,
    ]);
    const fromSkopeo = sh(`${TSBUILD} load < sk.tar`);
    expect(fromSkopeo.stdout).toBe('Loaded image: sk/app:2\n');
    expect((await cli(['images', '--no-trunc', '-q', 'sk/app'])).stdout).toBe(`${iid}\n`);

    expect((await cli(['rmi', '-f', iid])).exitCode).toBe(0);
    expect(existsSync(blob(iid))).toBe(true);
    const prune = await cli(['prune', '--all']);
    expect(prune.exitCode, prune.stderr).toBe(0);
    expect(existsSync(blob(iid))).toBe(false);
  });

  it('docker load of tsbuild save shows the same image ID (where a dockerd answers)', async (ctx) => {
    if (!dockerdRunning()) {
      ctx.skip('no dockerd answers here: the docker comparison is skipped');
      return;
    }
    const name = `tsbuild-images-test:${process.pid}`;
    const tagged = await cli(['load', '-i', join(dir, 'd.tar')]);
    expect(tagged.exitCode).toBe(0);
    expect((await cli(['tag', 'demo:1', name])).exitCode).toBe(0);
    expect(sh(`${TSBUILD} save ${name} -o dk.tar`).status).toBe(0);
    try {
      await run('docker', ['load', '-i', join(dir, 'dk.tar')]);
      const ids = (await run('docker', ['images', '--no-trunc', '--format', '{{.ID}}', name])).stdout.trim();
      expect(ids).toBe(iid);
      expect((await cli(['images', '--no-trunc', '-q', name])).stdout.trim()).toBe(ids);
    } finally {
      await run('docker', ['rmi', name]).catch(() => {});
    }
  });
});
