import { describe, expect, it } from 'vitest';
import {
  parseAddHosts,
  parseAnnotations,
  parseLabels,
  parseShmSize,
  parseUlimits,
  runSettings,
} from './parse-run-flags.js';

describe('build flag parsing', () => {
  it('labels: k=v, a bare key is empty, later wins', () => {
    expect(parseLabels(['a=1', 'b', 'a=2', 'c=x=y'])).toEqual({ a: '2', b: '', c: 'x=y' });
  });
  it('annotations: plain and manifest: go to the manifest, manifest-descriptor: to its descriptor', () => {
    const a = parseAnnotations(
      ['k=v', 'manifest:m=1', 'manifest-descriptor:d=2', 'manifest[linux/amd64]:p=3'],
      'linux/amd64',
    );
    expect(a.manifest).toEqual({ k: 'v', m: '1', p: '3' });
    expect(a.manifestDescriptor).toEqual({ d: '2' });
    expect(() => parseAnnotations(['index:i=1'], 'linux/amd64')).toThrow(/index annotations not supported/);
    expect(() => parseAnnotations(['nope:k=v'], 'linux/amd64')).toThrow(/unknown annotation type "nope"/);
    expect(() => parseAnnotations(['manifest[linux/arm64]:k=v'], 'linux/amd64')).toThrow(/no platform linux\/arm64/);
    expect(parseAnnotations(['com.example:k=v'], 'linux/amd64').manifest).toEqual({ 'com.example:k': 'v' });
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
