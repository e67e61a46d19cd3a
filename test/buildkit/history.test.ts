/**
 * BuildKit's frontend/dockerfile/dockerfile_history_test.go against our CLI: the image history a
 * build writes, and the record of a failed build (BuildKit's build history API is
 * `tsbuild history ls` here).
 */
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { runCli } from '../helpers/build-fixture.js';
import { df, rigsForFile } from './behaviours-rig.js';
import { type ImageConfig, type Manifest, readOciArchive } from './oci-rig.js';

const open = rigsForFile();

describe('BuildKit history (dockerfile_history_test.go)', () => {
  it('testExportedHistoryFlattenArgs', async () => {
    const r = await open({
      Dockerfile: df(`
FROM busybox
ARG foo=bar
ARG bar=123
ARG foo=bar2
RUN ls /etc/
`),
    });
    const archive = join(r.fx.dir, 'out.tar');
    const res = await r.cli(['-o', `type=oci,dest=${archive}`]);
    expect(res.exitCode, res.stderr).toBe(0);
    const oci = await readOciArchive(archive);
    const mfst = await oci.json<Manifest>(oci.index.manifests[0]!.digest);
    const history = (await oci.json<ImageConfig>(mfst.config.digest)).history ?? [];
    const firstNonBase = history.findIndex((h) => h.created_by === 'ARG foo=bar');
    expect(firstNonBase).toBeGreaterThan(0);
    expect(history).toHaveLength(firstNonBase + 4);
    expect(history[firstNonBase + 1]!.created_by).toContain('ARG bar=123');
    expect(history[firstNonBase + 2]!.created_by).toContain('ARG foo=bar2');
    const runLine = history[firstNonBase + 3]!.created_by!;
    expect(runLine).toContain('ls /etc/');
    expect(runLine).not.toContain('ARG foo=bar');
    expect(runLine).toContain('RUN |2 foo=bar2 bar=123 ');
  });

  it('testHistoryError (the failed build recorded with its error and its Dockerfile; no gRPC status blob here)', async () => {
    const r = await open({ Dockerfile: 'FROM scratch\nCOPY notexist /foo\n' });
    const res = await r.cli([]);
    expect(res.exitCode).not.toBe(0);
    const ls = await runCli(['history', 'ls', '--format', 'json'], { env: { TSBUILD_ROOT: r.fx.stateRoot } });
    expect(ls.exitCode, ls.stderr).toBe(0);
    const records = ls.stdout
      .split('\n')
      .filter(Boolean)
      .map((l) => JSON.parse(l) as { Status: string; Error?: string; Dockerfile?: string });
    expect(records).toHaveLength(1);
    expect(records[0]!.Status).toBe('Error');
    expect(records[0]!.Error).toContain('/notexist');
    expect(records[0]!.Dockerfile).toBe(join(r.fx.context, 'Dockerfile'));
  });

  it.skip('testHistoryFinalizeTrace — tsbuild records no OpenTelemetry trace of a build (its history keeps the log)', () => {});
});
