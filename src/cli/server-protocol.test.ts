import { describe, expect, it } from 'vitest';
import {
  FRAME,
  FrameReader,
  frame,
  idleSeconds,
  namespaceIds,
  serverEligible,
  serverPaths,
  serverWanted,
} from './server-protocol.js';

describe('frames', () => {
  it('come out whole however the stream is cut', () => {
    const bytes = Buffer.concat([frame(FRAME.stderr, '#1 step\n'), frame(FRAME.stdout, ''), frame(FRAME.exit, '130')]);
    for (let cut = 0; cut <= bytes.length; cut++) {
      const r = new FrameReader();
      const got = [...r.push(bytes.subarray(0, cut)), ...r.push(bytes.subarray(cut))];
      expect(got.map((f) => [f.type, f.payload.toString()])).toEqual([
        [FRAME.stderr, '#1 step\n'],
        [FRAME.stdout, ''],
        [FRAME.exit, '130'],
      ]);
    }
  });
});

describe('serverWanted', () => {
  it('is on by default, and off in CI', () => {
    expect(serverWanted({})).toBe(true);
    expect(serverWanted({ CI: 'true' })).toBe(false);
    expect(serverWanted({ CI: '1' })).toBe(false);
    expect(serverWanted({ CI: 'woodpecker' })).toBe(false);
    // set to a "no", CI says this is not CI
    for (const no of ['', 'false', '0']) expect(serverWanted({ CI: no }), `CI=${no}`).toBe(true);
  });
  it('knows the CI services that do not set CI', () => {
    expect(serverWanted({ JENKINS_URL: 'http://jenkins:8080/' })).toBe(false);
    expect(serverWanted({ TF_BUILD: 'True' })).toBe(false);
    expect(serverWanted({ TEAMCITY_VERSION: '2024.1' })).toBe(false);
    expect(serverWanted({ CODEBUILD_BUILD_ID: 'proj:1234' })).toBe(false);
    expect(serverWanted({ JENKINS_URL: '' })).toBe(true);
    expect(serverWanted({ TF_BUILD: 'True', TSBUILD_SERVER: '1' })).toBe(true);
  });
  it('follows TSBUILD_SERVER when it is set, CI or not', () => {
    expect(serverWanted({ TSBUILD_SERVER: '1', CI: 'true' })).toBe(true);
    expect(serverWanted({ TSBUILD_SERVER: '0' })).toBe(false);
    expect(serverWanted({ TSBUILD_SERVER: 'false' })).toBe(false);
    expect(serverWanted({ TSBUILD_SERVER: '0', CI: 'false' })).toBe(false);
    // set but empty is unset
    expect(serverWanted({ TSBUILD_SERVER: '' })).toBe(true);
    expect(serverWanted({ TSBUILD_SERVER: '', CI: 'true' })).toBe(false);
  });
});

describe('serverEligible', () => {
  const on = { TSBUILD_SERVER: '1' };
  it('takes builds by root when the server is wanted', () => {
    expect(serverEligible(['-t', 'a', '.'], on, 0)).toBe(true);
    expect(serverEligible(['build', '.'], on, 0)).toBe(true);
    expect(serverEligible(['-t', 'a', '.'], {}, 0)).toBe(true);
    expect(serverEligible(['-t', 'a', '.'], { CI: 'true' }, 0)).toBe(false);
    expect(serverEligible(['-t', 'a', '.'], { TSBUILD_SERVER: '0' }, 0)).toBe(false);
    expect(serverEligible(['-t', 'a', '.'], on, 1000)).toBe(false);
    expect(serverEligible(['-t', 'a', '.'], {}, undefined)).toBe(false);
  });
  it('leaves other commands, stdin, help and isolation to the process', () => {
    for (const args of [
      ['prune', '-a'],
      ['run', 'img'],
      [],
      ['-f', '-', '.'],
      ['-'],
      ['--secret', 'id=a,src=-', '.'],
      ['--help'],
      ['--isolation=rootless', '.'],
    ])
      expect(serverEligible(args, on, 0), args.join(' ')).toBe(false);
  });
});

describe('serverPaths', () => {
  it('names one server per build of the bundle, in the runtime dir', () => {
    const a = serverPaths('f7b138d9a7bc236d', { XDG_RUNTIME_DIR: '/run/user/0' });
    expect(a.socket).toMatch(/^\/run\/user\/0\/tsbuild\/server-[0-9a-f]{8}\.sock$/);
    expect(a.log).toBe(a.socket.replace(/sock$/, 'log'));
    expect(serverPaths('0123456789abcdef', {}).socket).not.toBe(a.socket.replace('/run/user/0', '/run'));
    expect(serverPaths('f7b138d9a7bc236d', {}).dir).toBe('/run/tsbuild');
  });
  it('names another server for a client in other namespaces', () => {
    const id = 'f7b138d9a7bc236d';
    const here = namespaceIds();
    expect(here).toMatch(/^cgroup:\[\d+\] ipc:\[\d+\] mnt:\[\d+\] net:\[\d+\] pid:\[\d+\] user:\[\d+\] uts:\[\d+\]$/);
    expect(serverPaths(id, {}).socket).toBe(serverPaths(id, {}, here).socket);
    const otherNet = here.replace(/net:\[\d+\]/, 'net:[1]');
    expect(serverPaths(id, {}, otherNet).socket).not.toBe(serverPaths(id, {}, here).socket);
  });
  it('idles 15 minutes unless TSBUILD_SERVER_IDLE says', () => {
    expect(idleSeconds({})).toBe(900);
    expect(idleSeconds({ TSBUILD_SERVER_IDLE: '2' })).toBe(2);
    expect(idleSeconds({ TSBUILD_SERVER_IDLE: 'x' })).toBe(900);
  });
});
