import { EnvironmentError } from '../errors.js';

/**
 * runc's own errors that mean this machine does not let it make a container at all, not that the
 * step's command failed: the step cgroup on a read-only cgroupfs, a mount or a namespace refused.
 * Where tsbuild itself runs in a container without CAP_SYS_ADMIN (dockerd's default, a pod's
 * restricted profile), every RUN fails so. Each entry: the pattern, and what runc could not do.
 */
const REFUSALS: [RegExp, string][] = [
  [/unable to apply cgroup configuration: (.*(read-only file system|permission denied))/i, "make the step's cgroup"],
  [/error mounting (.*(operation not permitted|permission denied))/i, "mount the step's filesystems"],
  [/(mount .*: operation not permitted)/i, "mount the step's filesystems"],
  [/((?:unshare|clone|setns|namespaces?)[^"]*: operation not permitted)/i, "enter the step's namespaces"],
];

/**
 * The environment error for a RUN whose runc could not start the container for lack of rights,
 * read from the step's last output lines (runc writes there, or its log is passed on there);
 * undefined for any other failure, the command's own included.
 */
export function runcRefusal(outputTail: readonly string[], rootless = false): EnvironmentError | undefined {
  for (const line of outputTail) {
    // runc's own lines only: `level=error msg="…"` on its stderr, `runc: …` from its log (rootless)
    if (!/level=(error|fatal) msg=|^runc: /.test(line)) continue;
    for (const [pattern, what] of REFUSALS) {
      const m = pattern.exec(line);
      if (!m) continue;
      // rootless, the user namespace has the rights: what fails is the kernel refusing a fresh
      // /proc in it while paths of the outer one are masked (a container's default)
      if (rootless && /"proc"/.test(m[1]!))
        return new EnvironmentError(
          `runc could not mount /proc for the step in the user namespace (${m[1]}): the kernel refuses it while paths of this container's /proc are masked`,
          {
            hint: 'run the container with an unmasked /proc (docker run --security-opt systempaths=unconfined; Kubernetes: securityContext.procMount: Unmasked), or choose another isolation mode (see --isolation in tsbuild build --help)',
          },
        );
      return new EnvironmentError(
        `runc could not ${what} (${m[1]}): this process lacks the rights runc needs to run RUN steps (CAP_SYS_ADMIN, mounts, namespaces, a writable cgroupfs), as in a container started without --privileged`,
        {
          hint: 'run tsbuild with those rights (docker run --privileged; Kubernetes: securityContext.privileged: true), or choose an isolation mode that needs none of them (see --isolation in tsbuild build --help)',
        },
      );
    }
  }
  return undefined;
}
