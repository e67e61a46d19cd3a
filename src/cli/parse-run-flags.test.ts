import { describe, expect, it } from 'vitest';
import {
  parseAddHosts,
  parseAnnotations,
  parseLabels,
  parseShmSize,
  parseUlimits,
  runSettings,
} from './parse-run-flags.js';

const AMD64 = [{ os: 'linux', architecture: 'amd64' }];

describe('build flag parsing', () => {
  it('labels: k=v, a bare key is empty, later wins', () => {
    expect(parseLabels(['a=1', 'b', 'a=2', 'c=x=y'])).toEqual({ a: '2', b: '', c: 'x=y' });
  });
  it('annotations: plain and manifest: go to the manifest, manifest-descriptor: to its descriptor', () => {
    const a = parseAnnotations(['k=v', 'manifest:m=1', 'manifest-descriptor:d=2', 'manifest[linux/amd64]:p=3'], AMD64);
    expect(a.manifest).toEqual({ k: 'v', m: '1', p: '3' });
    expect(a.manifestDescriptor).toEqual({ d: '2' });
    expect(() => parseAnnotations(['index:i=1'], AMD64)).toThrow(/index annotations not supported/);
    expect(() => parseAnnotations(['nope:k=v'], AMD64)).toThrow(/unknown annotation type "nope"/);
    expect(() => parseAnnotations(['manifest[linux/arm64]:k=v'], AMD64)).toThrow(/no platform linux\/arm64/);
    expect(parseAnnotations(['com.example:k=v'], AMD64).manifest).toEqual({ 'com.example:k': 'v' });
  });
  it('annotations of a multi-platform build: index and index-descriptor are taken, a [platform] prefix names one manifest', () => {
    const both = [AMD64[0]!, { os: 'linux', architecture: 'arm64' }];
    const a = parseAnnotations(
      [
        'index:i=1',
        'index-descriptor:d=2',
        'manifest:all=3',
        'manifest[linux/arm64/v8]:only=4',
        'manifest-descriptor[linux/amd64]:md=5',
      ],
      both,
    );
    expect(a.index).toEqual({ i: '1' });
    expect(a.indexDescriptor).toEqual({ d: '2' });
    expect(a.manifest).toEqual({ all: '3' });
    expect(a.manifestFor).toEqual({ 'linux/arm64': { only: '4' } });
    expect(a.manifestDescriptorFor).toEqual({ 'linux/amd64': { md: '5' } });
    expect(() => parseAnnotations(['manifest[linux/s390x]:k=v'], both)).toThrow(/no platform linux\/s390x is built/);
    expect(() => parseAnnotations(['index[linux/arm64]:k=v'], both)).toThrow(/an index annotation names no platform/);
    // one --platform that is not the host's: its image is a manifest, as buildx makes it
    expect(() => parseAnnotations(['index:k=v'], [both[1]!])).toThrow(/index annotations not supported/);
  });
  it('add-host: host:ip, host=ip, bracketed v6; a bad address is refused', () => {
    expect(parseAddHosts(['a:1.2.3.4', 'b=::1', 'c:[fe80::1]'])).toEqual([
      { host: 'a', ip: '1.2.3.4' },
      { host: 'b', ip: '::1' },
      { host: 'c', ip: 'fe80::1' },
    ]);
    expect(() => parseAddHosts(['a:notanip'])).toThrow(/invalid host a:notanip/);
    expect(() => parseAddHosts(['a:host-gateway'])).toThrow(/host-gateway/);
  });
  it("shm-size: docker's RAMInBytes", () => {
    expect(parseShmSize('134217728')).toBe(134217728);
    expect(parseShmSize('128m')).toBe(128 << 20);
    expect(parseShmSize('1GiB')).toBe(1 << 30);
    expect(() => parseShmSize('lots')).toThrow(/invalid --shm-size/);
  });
  it('ulimit: name=soft[:hard], -1 unlimited, soft over hard refused', () => {
    expect(parseUlimits(['nofile=1024:2048', 'nproc=-1', 'nofile=10'])).toEqual([
      { name: 'nofile', soft: '10', hard: '10' },
      { name: 'nproc', soft: '-1', hard: '-1' },
    ]);
    expect(() => parseUlimits(['nofile=5:1'])).toThrow(/soft limit must be less than or equal/);
    expect(() => parseUlimits(['files=1'])).toThrow(/invalid ulimit type: files/);
  });
  it('no RUN flag, or --network default: no settings (the ops stay as they were)', () => {
    expect(runSettings({})).toBeUndefined();
    expect(runSettings({ network: 'default' })).toBeUndefined();
    expect(runSettings({ network: 'none', shmSize: '1m' })).toEqual({ network: 'none', shmSize: 1 << 20 });
  });
});
