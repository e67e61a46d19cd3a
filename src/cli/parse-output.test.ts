import { describe, expect, it } from 'vitest';
import { userErrorOfSync } from '../../test/helpers/user-error.js';
import { UserError } from '../errors.js';
import type { Exporter } from '../exporter/exporter.js';
import { EXPORTERS } from '../exporter/exporters.js';
import { parseBuildArgs, parseOutput, parseSourceDateEpoch } from './parse-output.js';

describe('parseOutput', () => {
  it('parses type and dest', () => {
    expect(parseOutput('type=oci,dest=app.tar')).toEqual({ type: 'oci', dest: 'app.tar' });
    expect(parseOutput('type=docker,dest=-')).toEqual({ type: 'docker', dest: '-' });
    expect(parseOutput('type=local,dest=out')).toEqual({ type: 'local', dest: 'out' });
    expect(parseOutput('type=tar,dest=rootfs.tar')).toEqual({ type: 'tar', dest: 'rootfs.tar' });
  });

  it('takes source-date-epoch= (empty: none) and rewrite-timestamp= on image outputs, as BuildKit', () => {
    expect(parseOutput('type=oci,dest=a.tar,source-date-epoch=,rewrite-timestamp=true')).toEqual({
      type: 'oci',
      dest: 'a.tar',
      sourceDateEpoch: null,
      rewriteTimestamp: true,
    });
    expect(parseOutput('type=docker,dest=a.tar,source-date-epoch=42')).toMatchObject({ sourceDateEpoch: 42 });
    expect(parseOutput('type=image,name=a,rewrite-timestamp=false')).toMatchObject({ rewriteTimestamp: false });
    expect(() => parseOutput('type=oci,dest=a.tar,source-date-epoch=soon')).toThrow(/whole number/);
    expect(() => parseOutput('type=local,dest=d,source-date-epoch=1')).toThrow(/unknown option "source-date-epoch"/);
  });

  it('takes the fields in any order, trims them and lowercases keys', () => {
    expect(parseOutput('dest=/tmp/out.tar,type=oci')).toEqual({ type: 'oci', dest: '/tmp/out.tar' });
    expect(parseOutput(' Type = docker , DEST = x.tar ')).toEqual({ type: 'docker', dest: 'x.tar' });
  });

  it('keeps = inside a value', () => {
    expect(parseOutput('type=oci,dest=a=b.tar')).toEqual({ type: 'oci', dest: 'a=b.tar' });
  });

  it('a bare path is a local export, and - a tar on stdout, as in buildx', () => {
    expect(parseOutput('out/dir')).toEqual({ type: 'local', dest: 'out/dir' });
    expect(parseOutput('-')).toEqual({ type: 'tar', dest: '-' });
  });

  it('oci tar=false, names, compression and level', () => {
    expect(parseOutput('type=oci,dest=layout,tar=false')).toEqual({ type: 'oci', dest: 'layout', tar: false });
    expect(parseOutput('type=docker,dest=x.tar,name=app:1')).toEqual({
      type: 'docker',
      dest: 'x.tar',
      names: ['app:1'],
    });
    expect(parseOutput('type=oci,dest=a.tar,compression=zstd,compression-level=19,force-compression=true')).toEqual({
      type: 'oci',
      dest: 'a.tar',
      compression: 'zstd',
      compressionLevel: 19,
      forceCompression: true,
    });
    expect(parseOutput('type=oci,dest=a.tar,compression=uncompressed')).toMatchObject({ compression: 'uncompressed' });
  });

  it('image and registry outputs; a quoted field may hold commas (several names)', () => {
    expect(parseOutput('type=image,"name=r/a:1,r/a:2",push=true')).toEqual({
      type: 'image',
      names: ['r/a:1', 'r/a:2'],
      push: true,
    });
    expect(parseOutput('type=registry,name=r/a:1')).toEqual({ type: 'image', names: ['r/a:1'], push: true });
    expect(parseOutput('type=image,name=r/a:1,registry.insecure=true')).toEqual({
      type: 'image',
      names: ['r/a:1'],
      insecure: true,
    });
    expect(parseOutput('type=oci,"dest=a,b.tar"')).toEqual({ type: 'oci', dest: 'a,b.tar' });
  });

  it('a field without = is a UserError', () => {
    const err = userErrorOfSync(() => parseOutput('type=oci,app.tar'));
    expect(err.message).toBe('invalid --output "type=oci,app.tar": "app.tar" is not key=value');
    expect(err.hint).toMatch(/type=oci,dest=/);
  });

  it('an unsupported or missing type is a UserError', () => {
    expect(userErrorOfSync(() => parseOutput('type=cacheonly,dest=out')).message).toBe(
      'unsupported output type "cacheonly" in --output "type=cacheonly,dest=out"',
    );
    expect(userErrorOfSync(() => parseOutput('dest=out.tar')).message).toBe(
      'unsupported output type "" in --output "dest=out.tar"',
    );
  });

  it('type=docker without dest is the local docker (--load); tar= needs a dest there', () => {
    expect(parseOutput('type=docker')).toEqual({ type: 'docker' });
    expect(parseOutput('type=docker,name=app:1')).toEqual({ type: 'docker', names: ['app:1'] });
    expect(userErrorOfSync(() => parseOutput('type=docker,tar=true')).message).toMatch(
      /tar= needs dest=FILE; without dest the image goes into the local docker/,
    );
  });

  it('a missing or empty dest is a UserError', () => {
    expect(userErrorOfSync(() => parseOutput('type=oci')).message).toMatch(/needs dest=FILE/);
    expect(userErrorOfSync(() => parseOutput('type=oci,dest=')).message).toMatch(/needs dest=FILE/);
    expect(userErrorOfSync(() => parseOutput('type=local')).message).toMatch(/needs dest=DIR/);
  });

  it('an option the type does not take is a UserError naming it', () => {
    const err = userErrorOfSync(() => parseOutput('type=local,dest=d,compression=zstd'));
    expect(err.message).toBe('unknown option "compression" in --output "type=local,dest=d,compression=zstd"');
    expect(err.hint).toBe('type=local takes: dest, platform-split');
  });

  it('oci-mediatypes=false on the image and archive outputs; not on local', () => {
    expect(parseOutput('type=oci,dest=a.tar,oci-mediatypes=false')).toEqual({
      type: 'oci',
      dest: 'a.tar',
      ociMediaTypes: false,
    });
    expect(parseOutput('type=registry,name=r/a,oci-mediatypes=true').ociMediaTypes).toBe(true);
    expect(parseOutput('type=docker,dest=d.tar,oci-mediatypes=false').ociMediaTypes).toBe(false);
    expect(parseOutput('type=oci,dest=a.tar').ociMediaTypes).toBeUndefined();
    expect(userErrorOfSync(() => parseOutput('type=local,dest=d,oci-mediatypes=false')).message).toMatch(
      /unknown option "oci-mediatypes"/,
    );
    expect(userErrorOfSync(() => parseOutput('type=oci,dest=a,oci-mediatypes=no')).message).toMatch(
      /oci-mediatypes must be true or false/,
    );
  });

  it('bad values are UserErrors', () => {
    expect(userErrorOfSync(() => parseOutput('type=oci,dest=a,compression=lz4')).message).toMatch(
      /unknown compression "lz4"/,
    );
    expect(userErrorOfSync(() => parseOutput('type=oci,dest=a,compression-level=10')).message).toMatch(
      /gzip must be a whole number from 0 to 9/,
    );
    expect(userErrorOfSync(() => parseOutput('type=oci,dest=a,compression=zstd,compression-level=23')).message).toMatch(
      /zstd must be a whole number from 1 to 22/,
    );
    expect(userErrorOfSync(() => parseOutput('type=oci,dest=a,tar=maybe')).message).toMatch(
      /tar must be true or false/,
    );
    expect(userErrorOfSync(() => parseOutput('type=docker,dest=a,tar=false')).message).toMatch(/writes a tar only/);
    expect(userErrorOfSync(() => parseOutput('type=oci,"dest=a')).message).toMatch(/unterminated quote/);
  });
});

describe('parseSourceDateEpoch', () => {
  it('takes the build arg first, then the environment', () => {
    expect(parseSourceDateEpoch(new Map([['SOURCE_DATE_EPOCH', '10']]), { SOURCE_DATE_EPOCH: '20' })).toBe(10);
    expect(parseSourceDateEpoch(new Map(), { SOURCE_DATE_EPOCH: '20' })).toBe(20);
    expect(parseSourceDateEpoch(new Map(), {})).toBeUndefined();
    expect(userErrorOfSync(() => parseSourceDateEpoch(new Map(), { SOURCE_DATE_EPOCH: 'yesterday' })).message).toMatch(
      /whole number of seconds/,
    );
  });
});

describe('parseBuildArgs', () => {
  it('K=V sets K, the value kept whole', () => {
    const args = parseBuildArgs(['A=1', 'B=x=y', 'C=', 'D= spaced '], {});
    expect([...args]).toEqual([
      ['A', '1'],
      ['B', 'x=y'],
      ['C', ''],
      ['D', ' spaced '],
    ]);
  });

  it('K alone takes the value from the environment', () => {
    expect([...parseBuildArgs(['HOME_DIR'], { HOME_DIR: '/home/me' })]).toEqual([['HOME_DIR', '/home/me']]);
    expect([...parseBuildArgs(['EMPTY'], { EMPTY: '' })]).toEqual([['EMPTY', '']]);
  });

  it('K alone is skipped when unset in the environment', () => {
    expect(parseBuildArgs(['UNSET_VAR'], { OTHER: '1' }).size).toBe(0);
  });

  it('a later value for the same name wins', () => {
    expect(parseBuildArgs(['A=1', 'A=2'], {}).get('A')).toBe('2');
  });

  it('=V (no name) is a UserError', () => {
    expect(userErrorOfSync(() => parseBuildArgs(['=value'], {})).message).toBe(
      'invalid --build-arg "=value": the name is empty',
    );
  });
});

describe('parseOutput against a table with a new exporter', () => {
  // what adding an output type takes: one Exporter (its own keys and checks) and a table entry
  const s3: Exporter = {
    type: 's3',
    keys: ['bucket', 'name'],
    example: '-o type=s3,bucket=B',
    validate(out, spec) {
      if (!out.options?.bucket) throw new UserError(`--output "${spec}" needs bucket=NAME`);
    },
    describe: () => 'uploading',
    export: async () => ({ report: { type: 's3' } }),
    print: () => 'uploaded',
  };
  const table = [...EXPORTERS, s3];

  it('takes its own keys into options and runs its checks', () => {
    expect(parseOutput('type=s3,bucket=b1,name=a:1', table)).toEqual({
      type: 's3',
      names: ['a:1'],
      options: { bucket: 'b1' },
    });
    expect(() => parseOutput('type=s3,name=a:1', table)).toThrow('needs bucket=NAME');
    expect(() => parseOutput('type=s3,region=x', table)).toThrow(
      expect.objectContaining({ message: expect.stringContaining('"region"'), hint: 'type=s3 takes: bucket, name' }),
    );
  });

  it('lists it among the supported types', () => {
    expect(() => parseOutput('type=gcs', table)).toThrow(
      expect.objectContaining({
        hint: expect.stringContaining('supported: oci, docker, local, tar, image, s3, registry'),
      }),
    );
    expect(() => parseOutput('type=s3,bucket=b')).toThrow('unsupported output type "s3"');
  });
});
