import { describe, expect, it } from 'vitest';
import { EnvironmentError } from '../errors.js';
import { runcRefusal } from './runc-rights.js';

describe('runcRefusal', () => {
  it("reads runc's refusals for lack of rights as an environment error naming what runc could not do", () => {
    // as runc 1.1 says it inside a dockerd container without --privileged (test/integration/in-container.test.ts)
    const cgroup = runcRefusal([
      'time="2026-12-06T19:25:52Z" level=warning msg="unable to get oom kill count" error="openat2 /sys/fs/cgroup/memory/x/memory.oom_control: no such file or directory"',
      'time="2026-12-06T19:25:52Z" level=error msg="runc run failed: unable to start container process: unable to apply cgroup configuration: mkdir /sys/fs/cgroup/cpuset/tsbuild-x: read-only file system"',
    ]);
    expect(cgroup).toBeInstanceOf(EnvironmentError);
    expect(cgroup?.message).toMatch(
      /^runc could not make the step's cgroup \(mkdir \/sys\/fs\/cgroup\/cpuset\/tsbuild-x: read-only file system\): this process lacks the rights/,
    );
    expect(cgroup?.hint).toMatch(/--privileged/);
    const mount = runcRefusal([
      'runc: runc run failed: unable to start container process: error during container init: error mounting "proc" to rootfs at "/proc": mount proc:/proc (via /proc/self/fd/6), flags: 0xe: operation not permitted',
    ]);
    expect(mount?.message).toMatch(/^runc could not mount the step's filesystems/);
    expect(
      runcRefusal(['level=error msg="nsexec-1[12]: failed to unshare namespaces: Operation not permitted"'])?.message,
    ).toMatch(/^runc could not enter the step's namespaces/);
    // rootless in a container whose /proc has masked paths (docker's default)
    const masked = [
      'runc: runc run failed: unable to start container process: error during container init: error mounting "proc" to rootfs at "/proc": mount proc:/proc (via /proc/self/fd/6), flags: 0xe: operation not permitted',
    ];
    expect(runcRefusal(masked, true)?.message).toMatch(
      /^runc could not mount \/proc for the step in the user namespace/,
    );
    expect(runcRefusal(masked, true)?.hint).toMatch(
      /systempaths=unconfined; Kubernetes: securityContext.procMount: Unmasked/,
    );
    expect(runcRefusal(masked, false)?.message).toMatch(/^runc could not mount the step's filesystems/);
  });

  it("leaves the command's own failures, and runc's for a missing program, to the step", () => {
    expect(
      runcRefusal(['mount: /mnt: permission denied.', 'unshare: unshare(0x10000000): Operation not permitted']),
    ).toBe(undefined);
    // a step's own output that merely mentions runc
    expect(runcRefusal(['runc says: mount x: operation not permitted'])).toBe(undefined);
    expect(
      runcRefusal([
        'level=error msg="runc run failed: unable to start container process: exec: \\"nope\\": executable file not found in $PATH"',
      ]),
    ).toBe(undefined);
  });
});
